// cgroup programs attached through BPF links pinned on the bpf filesystem, so
// the dataplane outlives the agent: a restart or upgrade finds the pinned link
// and swaps the program in it atomically (BPF_LINK_UPDATE), never leaving the
// cgroup without one.
//
//   attachCgroup(lib, obj.program('svcp_connect4'), '/sys/fs/cgroup', '/sys/fs/bpf/svcplane/links/connect4');
//   detachPinnedLink(lib, '/sys/fs/bpf/svcplane/links/connect4');

import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { dirname } from 'node:path';
import type { BpfProgram } from './bpf-object.js';
import { ENOENT, ENOLINK } from './constants.js';
import { BpfError } from './errors.js';
import type { Handle, Libbpf } from './libbpf.js';

/** attached: a new link was made and pinned; updated: the pinned link now runs the program;
 * replaced: the pinned link was for another cgroup or hook, so it was detached and a new one made. */
export type CgroupAttachOutcome = 'attached' | 'updated' | 'replaced';

export interface PinnedLinkInfo {
  /** The link's kernel id and the id of the program it runs. */
  readonly id: number;
  readonly progId: number;
  /** For cgroup links: the cgroup's id (its directory's inode) and enum bpf_attach_type. */
  readonly cgroupId: bigint;
  readonly attachType: number;
}

/** struct bpf_link_info up to the cgroup member { __u64 cgroup_id; __u32 attach_type; }. */
const LINK_INFO_SIZE = 32;
/** enum bpf_link_type BPF_LINK_TYPE_CGROUP. */
const BPF_LINK_TYPE_CGROUP = 3;

export function attachCgroup(lib: Libbpf, prog: BpfProgram, cgroupPath: string, linkPinPath: string): CgroupAttachOutcome {
  const targetCgroup = cgroupId(cgroupPath);
  let replaced = false;
  if (existsSync(linkPinPath)) {
    const link = openLink(lib, linkPinPath);
    try {
      const info = linkInfo(lib, link, linkPinPath);
      if (info.cgroupId === targetCgroup && info.attachType === prog.expectedAttachType) {
        const rc = lib.linkUpdateProgram(link, prog.handle);
        if (rc !== 0) throw new BpfError(-rc, `bpf_link__update_program ${linkPinPath} to ${prog.name}`);
        return 'updated';
      }
      detach(lib, link, linkPinPath);
      replaced = true;
    } finally {
      lib.linkDestroy(link); // closes our fd only: the pin keeps the link
    }
  }
  const cgroupFd = openSync(cgroupPath, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    const link = lib.programAttachCgroup(prog.handle, cgroupFd);
    if (link === null) throw new BpfError(lib.errno(), `bpf_program__attach_cgroup ${prog.name} to ${cgroupPath}`);
    try {
      mkdirSync(dirname(linkPinPath), { recursive: true, mode: 0o700 });
      const rc = lib.linkPin(link, linkPinPath);
      if (rc !== 0) {
        lib.linkDetach(link);
        throw new BpfError(-rc, `bpf_link__pin ${linkPinPath}`);
      }
    } finally {
      lib.linkDestroy(link);
    }
  } finally {
    closeSync(cgroupFd);
  }
  return replaced ? 'replaced' : 'attached';
}

/** Detaches the link pinned at the path and removes the pin; false when nothing is pinned there. */
export function detachPinnedLink(lib: Libbpf, linkPinPath: string): boolean {
  if (!existsSync(linkPinPath)) return false;
  const link = openLink(lib, linkPinPath);
  try {
    detach(lib, link, linkPinPath);
  } finally {
    lib.linkDestroy(link);
  }
  return true;
}

/** What a pinned link is attached to, or undefined when nothing is pinned at the path. */
export function pinnedLinkInfo(lib: Libbpf, linkPinPath: string): PinnedLinkInfo | undefined {
  if (!existsSync(linkPinPath)) return undefined;
  const link = openLink(lib, linkPinPath);
  try {
    return linkInfo(lib, link, linkPinPath);
  } finally {
    lib.linkDestroy(link);
  }
}

/**
 * Whether the link pinned at the path still runs `prog` on the cgroup at its hook. A link
 * detached by hand (`bpftool link detach`) stays pinned but reports no cgroup; a removed pin
 * took its link with it: both answer false.
 */
export function cgroupLinkIntact(lib: Libbpf, prog: BpfProgram, cgroupPath: string, linkPinPath: string): boolean {
  const info = pinnedLinkInfo(lib, linkPinPath);
  return info !== undefined && info.cgroupId === cgroupId(cgroupPath) && info.attachType === prog.expectedAttachType && info.progId === prog.id;
}

function openLink(lib: Libbpf, path: string): Handle {
  const link = lib.linkOpen(path);
  if (link === null) throw new BpfError(lib.errno(), `bpf_link__open ${path}`);
  return link;
}

function detach(lib: Libbpf, link: Handle, path: string): void {
  const rc = lib.linkDetach(link);
  // ENOLINK: already detached (its cgroup was removed): only the pin is left.
  if (rc !== 0 && rc !== -ENOLINK) throw new BpfError(-rc, `bpf_link__detach ${path}`);
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function linkInfo(lib: Libbpf, link: Handle, path: string): PinnedLinkInfo {
  const info = new Uint8Array(LINK_INFO_SIZE);
  const rc = lib.objGetInfoByFd(lib.linkFd(link), info, info.length);
  if (rc !== 0) throw new BpfError(-rc, `bpf_obj_get_info_by_fd ${path}`);
  const view = new DataView(info.buffer);
  const cgroup = view.getUint32(0, true) === BPF_LINK_TYPE_CGROUP;
  return {
    id: view.getUint32(4, true),
    progId: view.getUint32(8, true),
    cgroupId: cgroup ? view.getBigUint64(16, true) : 0n,
    attachType: cgroup ? view.getUint32(24, true) : -1,
  };
}

function cgroupId(path: string): bigint {
  try {
    return statSync(path, { bigint: true }).ino;
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).errno;
    throw new BpfError(typeof errno === 'number' ? -errno : ENOENT, `stat cgroup ${path}`);
  }
}
