// Where the eBPF mode's programs live: the object loaded with its maps pinned under the pin
// root (reused across restarts, so backends and connections survive them), the socket
// programs on a cgroup through pinned links (replaced atomically on upgrade), the tc
// programs on the node's external interfaces. Detaching undoes exactly that.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attachCgroup, attachTc, BpfObject, cgroupLinkIntact, deleteClsactIfEmpty, detachPinnedLink, detachTc, ensureBpffs, interfaceIndex, interfaceNames, queryTc,
  unpinAll, type Libbpf, type TcDirection,
} from '../../kernel/bpf/index.js';
import { SvcplaneError } from '../../util/errors.js';
import { LB_MAP_NAMES, type LbMaps } from './ebpf-maps.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/svcplane';
export const SOCKET_PROGRAMS = [
  'svcp_connect4', 'svcp_sendmsg4', 'svcp_recvmsg4', 'svcp_getpeername4',
  'svcp_connect6', 'svcp_sendmsg6', 'svcp_recvmsg6', 'svcp_getpeername6',
] as const;
/** tc filter identity: ours on any interface, so cleanup finds them without state. */
export const TC_FILTER = { handle: 0x5356, priority: 0x5350 } as const;

/** bpf/build/svcplane_lb.bpf.o, from src/ (tests) or dist/ (the agent). */
export function defaultObjectPath(): string {
  return fileURLToPath(new URL('../../../bpf/build/svcplane_lb.bpf.o', import.meta.url));
}

export class EbpfAttachError extends SvcplaneError {
  override readonly code = 'SVCPLANE_EBPF_ATTACH';
}

export interface AttachOptions {
  readonly objectPath: string;
  readonly pinRoot: string;
  readonly cgroupPath: string;
  /** Interfaces for the tc programs; empty: none. */
  readonly interfaces: readonly string[];
}

export interface Attached {
  readonly object: BpfObject;
  readonly maps: LbMaps;
  /** What each attachment did: attached, updated (atomic swap of a pinned link), replaced. */
  readonly outcomes: Readonly<Record<string, string>>;
}

/** The interfaces that hold one of `ips` in this network namespace. */
export function interfacesHolding(ips: readonly string[]): string[] {
  const wanted = new Set(ips);
  return Object.entries(networkInterfaces()).filter(([, addrs]) => (addrs ?? []).some((a) => wanted.has(a.address))).map(([name]) => name).sort();
}

export function attachDataplane(lib: Libbpf, opts: AttachOptions): Attached {
  if (!existsSync(opts.objectPath)) throw new EbpfAttachError(`BPF object ${opts.objectPath} is missing: run 'make build' (needs clang)`);
  if (!existsSync(opts.cgroupPath)) throw new EbpfAttachError(`cgroup ${opts.cgroupPath} does not exist (--ebpf-cgroup-path)`);
  ensureBpffs(lib);
  mkdirSync(join(opts.pinRoot, 'links'), { recursive: true });
  const object = BpfObject.open(lib, opts.objectPath, { pinRoot: opts.pinRoot });
  object.load();
  const outcomes: Record<string, string> = {};
  for (const name of SOCKET_PROGRAMS) outcomes[name] = attachCgroup(lib, object.program(name), opts.cgroupPath, join(opts.pinRoot, 'links', name));
  for (const ifname of opts.interfaces) {
    const ifindex = interfaceIndex(lib, ifname);
    attachTc(lib, object.program('svcp_tc_ingress'), ifindex, 'ingress', TC_FILTER);
    attachTc(lib, object.program('svcp_tc_egress'), ifindex, 'egress', TC_FILTER);
    outcomes[`tc/${ifname}`] = 'attached';
  }
  const maps = Object.fromEntries(Object.entries(LB_MAP_NAMES).map(([k, name]) => [k, object.map(name)])) as unknown as LbMaps;
  return { object, maps, outcomes };
}

const TC_PROGRAMS: readonly (readonly [TcDirection, string])[] = [['ingress', 'svcp_tc_ingress'], ['egress', 'svcp_tc_egress']];

/** if_nametoindex, or undefined for an interface that went away while we looked. */
function indexOf(lib: Libbpf, ifname: string): number | undefined {
  try {
    return interfaceIndex(lib, ifname);
  } catch {
    return undefined;
  }
}

/** Removes svcplane's tc filters from every interface of this namespace not in `keep`; returns where it removed one. */
function pruneTc(lib: Libbpf, keep: ReadonlySet<string>): { readonly ifname: string; readonly dir: TcDirection }[] {
  const removed: { ifname: string; dir: TcDirection }[] = [];
  for (const ifname of interfaceNames()) {
    if (keep.has(ifname)) continue;
    const ifindex = indexOf(lib, ifname);
    if (ifindex === undefined) continue;
    for (const [dir] of TC_PROGRAMS) if (detachTc(lib, ifindex, dir, TC_FILTER)) removed.push({ ifname, dir });
  }
  return removed;
}

/**
 * Drift repair, run by every full sync: re-attaches a socket program whose cgroup link was
 * detached or unpinned by hand, a tc program whose filter was deleted or replaced, and removes
 * svcplane's tc filters from interfaces that no longer apply (the node's IPs moved). Returns one
 * line per repair; empty when everything was in place.
 */
export function repairDataplane(lib: Libbpf, attached: Attached, opts: AttachOptions): string[] {
  const repairs: string[] = [];
  for (const name of SOCKET_PROGRAMS) {
    const prog = attached.object.program(name);
    const pin = join(opts.pinRoot, 'links', name);
    if (cgroupLinkIntact(lib, prog, opts.cgroupPath, pin)) continue;
    repairs.push(`${name}: ${attachCgroup(lib, prog, opts.cgroupPath, pin)} (its cgroup link was gone)`);
  }
  for (const ifname of opts.interfaces) {
    const ifindex = interfaceIndex(lib, ifname);
    for (const [dir, name] of TC_PROGRAMS) {
      const prog = attached.object.program(name);
      if (queryTc(lib, ifindex, dir, TC_FILTER) === prog.id) continue;
      attachTc(lib, prog, ifindex, dir, TC_FILTER);
      repairs.push(`tc/${ifname}/${dir}: re-attached`);
    }
  }
  return repairs.concat(pruneTc(lib, new Set(opts.interfaces)).map(({ ifname, dir }) => `tc/${ifname}/${dir}: removed (not an eBPF interface now)`));
}

/**
 * Removes svcplane's links, tc filters (on every interface of this namespace), the clsact
 * qdiscs those filters were alone on, and the pins.
 */
export async function detachDataplane(lib: Libbpf, pinRoot: string): Promise<void> {
  const links = join(pinRoot, 'links');
  if (existsSync(links)) for (const name of readdirSync(links)) detachPinnedLink(lib, join(links, name));
  const emptied = new Set(pruneTc(lib, new Set()).map((r) => r.ifname));
  for (const ifname of emptied) await deleteClsactIfEmpty(ifname);
  unpinAll(pinRoot);
}
