// The eBPF mode's capability probe: not a look at kernel config but the real
// thing, with tiny programs built from raw instructions (independent of the
// compiled object): the bpf() syscall, a cgroup/connect4 program attached to a
// throwaway cgroup through a link, and a tc program attached to the clsact hook
// of `lo` in a throwaway network namespace. Anything that fails says why.

import { mkdirSync, openSync, closeSync, rmdirSync, statfsSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  BPF_CGROUP_INET4_CONNECT,
  BPF_MAP_TYPE_ARRAY,
  BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
  BPF_PROG_TYPE_SCHED_CLS,
  CGROUP2_SUPER_MAGIC,
} from './constants.js';
import { BpfError } from './errors.js';
import type { Libbpf } from './libbpf.js';
import { inFreshNetns } from '../netns.js';
import { attachTc, detachTc } from './tc.js';

export interface BpfProbeOptions {
  /** The cgroup2 mount the socket programs attach under (e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified). */
  readonly cgroupRoot: string;
}

export type BpfProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** struct bpf_insn { __u8 code; __u8 dst_reg:4, src_reg:4; __s16 off; __s32 imm; }: `r0 = imm; exit`. */
export function returnInsns(imm: number): Uint8Array {
  const insns = new Uint8Array(16);
  const view = new DataView(insns.buffer);
  view.setUint8(0, 0xb7); // BPF_ALU64 | BPF_MOV | BPF_K, dst r0
  view.setInt32(4, imm, true);
  view.setUint8(8, 0x95); // BPF_JMP | BPF_EXIT
  return insns;
}

/** struct bpf_prog_load_opts cut after expected_attach_type: libbpf reads fields beyond `sz` as zero. */
function progLoadOpts(expectedAttachType: number): Uint8Array {
  const opts = new Uint8Array(16);
  const view = new DataView(opts.buffer);
  view.setBigUint64(0, 16n, true);
  view.setUint32(12, expectedAttachType, true);
  return opts;
}

export function probeBpf(lib: Libbpf, options: BpfProbeOptions): BpfProbeResult {
  try {
    const mapFd = lib.mapCreate(BPF_MAP_TYPE_ARRAY, 'svcp_probe', 4, 4, 1);
    if (mapFd < 0) return fail('the bpf() system call does not work (creating a map failed)', -mapFd);
    lib.closeFd(mapFd);

    const connect4 = lib.progLoad(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, 'svcp_probe', 'GPL', returnInsns(1), 2, progLoadOpts(BPF_CGROUP_INET4_CONNECT));
    if (connect4 < 0) return fail('loading a cgroup/connect4 program failed', -connect4);
    try {
      const cgroup = probeCgroup(lib, connect4, options.cgroupRoot);
      if (!cgroup.ok) return cgroup;
    } finally {
      lib.closeFd(connect4);
    }

    const tc = lib.progLoad(BPF_PROG_TYPE_SCHED_CLS, 'svcp_probe', 'GPL', returnInsns(0), 2, progLoadOpts(0));
    if (tc < 0) return fail('loading a tc (sched_cls) program failed', -tc);
    try {
      inFreshNetns(lib, () => {
        const lo = 1; // a new namespace's only interface
        attachTc(lib, tc, lo, 'ingress', { handle: 1, priority: 1 });
        detachTc(lib, lo, 'ingress', { handle: 1, priority: 1 });
      });
    } catch (err) {
      return fail('attaching a tc program to a clsact hook failed', err);
    } finally {
      lib.closeFd(tc);
    }
    return { ok: true };
  } catch (err) {
    return fail('the BPF probe failed', err);
  }
}

function probeCgroup(lib: Libbpf, progFd: number, cgroupRoot: string): BpfProbeResult {
  try {
    if (statfsSync(cgroupRoot).type !== CGROUP2_SUPER_MAGIC) return { ok: false, reason: `${cgroupRoot} is not a cgroup2 mount` };
  } catch (err) {
    return fail(`the cgroup2 root ${cgroupRoot} cannot be read`, err);
  }
  const dir = join(cgroupRoot, `svcp-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(dir);
  } catch (err) {
    return fail(`creating a throwaway cgroup under ${cgroupRoot} failed`, err);
  }
  try {
    const cgroupFd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      const link = lib.linkCreate(progFd, cgroupFd, BPF_CGROUP_INET4_CONNECT);
      if (link < 0) return fail('attaching a cgroup/connect4 program through a BPF link failed', -link);
      lib.closeFd(link); // the last reference to an unpinned link: this detaches it
      return { ok: true };
    } finally {
      closeSync(cgroupFd);
    }
  } finally {
    rmdirSync(dir);
  }
}

function fail(what: string, cause: unknown): BpfProbeResult {
  if (typeof cause === 'number') return { ok: false, reason: `${what}: ${new BpfError(cause, what).errnoName}` };
  const e = cause as { errnoName?: string; code?: string; message?: string };
  return { ok: false, reason: `${what}: ${e.message ?? String(cause)}` };
}
