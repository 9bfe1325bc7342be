// tc BPF programs on an interface's clsact hook (direct action), through
// libbpf's bpf_tc_* API:
//
//   attachTc(lib, prog, ifindex, 'ingress', { handle: 1, priority: 1 });  // creates clsact if needed
//   queryTc(lib, ifindex, 'ingress', { handle: 1, priority: 1 });         // the program id, or undefined
//   detachTc(lib, ifindex, 'ingress', { handle: 1, priority: 1 });
//
// The filter is addressed by (handle, priority): attaching again replaces the
// program in place (BPF_TC_F_REPLACE), so an upgrade has no window without one.
// Everything acts in the calling thread's network namespace, or in `netns`.

import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { BpfProgram } from './bpf-object.js';
import { BPF_TC_EGRESS, BPF_TC_F_REPLACE, BPF_TC_INGRESS, EEXIST, EINVAL, ENOENT } from './constants.js';
import { BpfError, BpfUsageError } from './errors.js';
import type { Libbpf } from './libbpf.js';
import { inNetns } from '../netns.js';

export type TcDirection = 'ingress' | 'egress';

export interface TcFilterOptions {
  /** The filter's handle (non-zero) and priority (1..65535: tc's priority is 16 bits). */
  readonly handle: number;
  readonly priority: number;
  /** A network namespace file (/run/netns/NAME): act there instead of the caller's namespace. */
  readonly netns?: string;
}

/** tc answers EINVAL when the interface has no clsact qdisc, or no filter chain at that priority, to look in. */
const EINVAL_NO_QDISC = EINVAL;

/** struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; } */
const TC_HOOK_SIZE = 24;
/** struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority; } */
const TC_OPTS_SIZE = 32;

export function encodeTcHook(ifindex: number, direction: TcDirection): Uint8Array {
  const hook = new Uint8Array(TC_HOOK_SIZE);
  const view = new DataView(hook.buffer);
  view.setBigUint64(0, BigInt(TC_HOOK_SIZE), true);
  view.setInt32(8, ifindex, true);
  view.setUint32(12, direction === 'ingress' ? BPF_TC_INGRESS : BPF_TC_EGRESS, true);
  return hook;
}

export function encodeTcOpts(fields: { progFd?: number; flags?: number; handle: number; priority: number }): Uint8Array {
  const opts = new Uint8Array(TC_OPTS_SIZE);
  const view = new DataView(opts.buffer);
  view.setBigUint64(0, BigInt(TC_OPTS_SIZE), true);
  view.setInt32(8, fields.progFd ?? 0, true);
  view.setUint32(12, fields.flags ?? 0, true);
  view.setUint32(20, fields.handle, true);
  view.setUint32(24, fields.priority, true);
  return opts;
}

/** prog_id as bpf_tc_attach/bpf_tc_query write it back. */
export function tcOptsProgId(opts: Uint8Array): number {
  return new DataView(opts.buffer, opts.byteOffset).getUint32(16, true);
}

/** Attaches (or replaces) the program; returns the kernel's id of the attached program. */
export function attachTc(lib: Libbpf, prog: BpfProgram | number, ifindex: number, direction: TcDirection, options: TcFilterOptions): number {
  checkFilter(options);
  const progFd = typeof prog === 'number' ? prog : prog.fd;
  return within(lib, options, () => {
    const hook = encodeTcHook(ifindex, direction);
    const created = lib.tcHookCreate(hook);
    if (created !== 0 && created !== -EEXIST) throw new BpfError(-created, `bpf_tc_hook_create ifindex ${ifindex} ${direction}`);
    const opts = encodeTcOpts({ progFd, flags: BPF_TC_F_REPLACE, handle: options.handle, priority: options.priority });
    const rc = lib.tcAttach(hook, opts);
    if (rc !== 0) throw new BpfError(-rc, `bpf_tc_attach ifindex ${ifindex} ${direction}`);
    return tcOptsProgId(opts);
  });
}

/** Removes the filter; false when there was none (or no clsact hook at all). */
export function detachTc(lib: Libbpf, ifindex: number, direction: TcDirection, options: TcFilterOptions): boolean {
  checkFilter(options);
  return within(lib, options, () => {
    const rc = lib.tcDetach(encodeTcHook(ifindex, direction), encodeTcOpts(options));
    if (rc === 0) return true;
    if (rc === -ENOENT || rc === -EINVAL_NO_QDISC) return false;
    throw new BpfError(-rc, `bpf_tc_detach ifindex ${ifindex} ${direction}`);
  });
}

/** The id of the program in the filter, or undefined when there is none. */
export function queryTc(lib: Libbpf, ifindex: number, direction: TcDirection, options: TcFilterOptions): number | undefined {
  checkFilter(options);
  return within(lib, options, () => {
    const opts = encodeTcOpts(options);
    const rc = lib.tcQuery(encodeTcHook(ifindex, direction), opts);
    if (rc === 0) return tcOptsProgId(opts);
    if (rc === -ENOENT || rc === -EINVAL_NO_QDISC) return undefined;
    throw new BpfError(-rc, `bpf_tc_query ifindex ${ifindex} ${direction}`);
  });
}

/** if_nametoindex, in the caller's namespace or in `netns`. */
export function interfaceIndex(lib: Libbpf, name: string, netns?: string): number {
  const lookup = (): number => {
    const index = lib.ifNametoindex(name);
    if (index === 0) throw new BpfError(lib.errno(), `if_nametoindex ${JSON.stringify(name)}`);
    return index;
  };
  return netns === undefined ? lookup() : inNetns(lib, netns, lookup);
}

/**
 * Every interface of the caller's network namespace, with or without addresses (os.networkInterfaces
 * lists only those with one). /proc/self/net/dev is the calling thread's namespace, whatever
 * /sys was mounted for (nsenter --net keeps the host's sysfs).
 */
export function interfaceNames(): string[] {
  const names = new Set(Object.keys(networkInterfaces()));
  for (const line of readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2)) {
    const name = line.split(':')[0]?.trim();
    if (name) names.add(name);
  }
  return [...names].sort();
}

function within<T>(lib: Libbpf, options: TcFilterOptions, fn: () => T): T {
  return options.netns === undefined ? fn() : inNetns(lib, options.netns, fn);
}

function checkFilter(options: TcFilterOptions): void {
  const { handle, priority } = options;
  if (!Number.isInteger(handle) || handle < 1 || handle > 0xffffffff) throw new BpfUsageError(`tc filter handle must be 1..4294967295, got ${handle}`);
  if (!Number.isInteger(priority) || priority < 1 || priority > 0xffff) throw new BpfUsageError(`tc filter priority must be 1..65535, got ${priority}`);
}
