// A model of the kernel's IPVS tables for planner tests: applies ops with the
// kernel's checks (EEXIST, ENOENT), keeps connection counts the tests set, and
// dumps in the shape the netlink layer returns. Test-only.
import { destinationKey, virtualServerKey } from './ipvs-keys.js';
import { IP_VS_SVC_F_HASHED, type IpvsDestination, type IpvsOp, type IpvsService } from './ipvs-types.js';
import type { IpvsCurrentState, IpvsPlan } from './ipvs-planner.js';
import type { IpvsOperation } from '../../kernel/netlink/ipvs.js';
import { NetlinkError } from '../../kernel/netlink/errors.js';

const ENODEV = 19;

interface FakeVirtualServer {
  service: IpvsService;
  readonly dests: Map<string, IpvsDestination>;
}

export interface FakeIpvsKernel {
  readonly services: Map<string, FakeVirtualServer>;
  readonly bound: Set<string>;
}

export function fakeKernel(services: readonly { service: IpvsService; destinations?: readonly IpvsDestination[] }[] = [], bound: readonly string[] = []): FakeIpvsKernel {
  const k: FakeIpvsKernel = { services: new Map(), bound: new Set(bound) };
  for (const s of services) {
    applyOps(k, [{ op: 'new-service', service: s.service }, ...(s.destinations ?? []).map((dest) => ({ op: 'new-dest' as const, service: s.service, dest }))]);
    for (const d of s.destinations ?? []) setCounts(k, s.service, d.address, d.port, d.activeConnections ?? 0, d.inactiveConnections ?? 0);
  }
  return k;
}

function find(k: FakeIpvsKernel, s: IpvsService): FakeVirtualServer {
  const vs = k.services.get(virtualServerKey(s));
  if (vs === undefined) throw new Error(`ENOENT: no virtual server ${virtualServerKey(s)}`);
  return vs;
}

function requestDest(d: IpvsDestination): IpvsDestination {
  return { address: d.address, port: d.port, forwardMethod: d.forwardMethod, weight: d.weight, upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold };
}

/** Applies ops in order, as the kernel would; throws on the first one the kernel would refuse. */
export function applyOps(k: FakeIpvsKernel, ops: readonly IpvsOp[]): void {
  for (const o of ops) {
    const key = virtualServerKey(o.service);
    switch (o.op) {
      case 'new-service':
        if (k.services.has(key)) throw new Error(`EEXIST: virtual server ${key}`);
        k.services.set(key, { service: { ...o.service, flags: o.service.flags | IP_VS_SVC_F_HASHED }, dests: new Map() });
        break;
      case 'update-service': {
        const vs = find(k, o.service);
        vs.service = { ...o.service, flags: o.service.flags | IP_VS_SVC_F_HASHED };
        break;
      }
      case 'del-service':
        find(k, o.service);
        k.services.delete(key);
        break;
      case 'new-dest': {
        const vs = find(k, o.service);
        const dk = destinationKey(key, o.dest);
        if (vs.dests.has(dk)) throw new Error(`EEXIST: real server ${dk}`);
        vs.dests.set(dk, { ...requestDest(o.dest), activeConnections: 0, inactiveConnections: 0 });
        break;
      }
      case 'update-dest': {
        const vs = find(k, o.service);
        const dk = destinationKey(key, o.dest);
        const cur = vs.dests.get(dk);
        if (cur === undefined) throw new Error(`ENOENT: real server ${dk}`);
        vs.dests.set(dk, { ...requestDest(o.dest), activeConnections: cur.activeConnections ?? 0, inactiveConnections: cur.inactiveConnections ?? 0 });
        break;
      }
      case 'del-dest': {
        const vs = find(k, o.service);
        const dk = destinationKey(key, o.dest);
        if (!vs.dests.delete(dk)) throw new Error(`ENOENT: real server ${dk}`);
        break;
      }
    }
  }
}

/** Applies a whole plan: its ops and its kube-ipvs0 address changes. */
export function applyPlan(k: FakeIpvsKernel, plan: IpvsPlan): void {
  applyOps(k, plan.ops);
  for (const a of plan.addresses.remove) {
    if (!k.bound.delete(a)) throw new Error(`EADDRNOTAVAIL: ${a} is not on kube-ipvs0`);
  }
  for (const a of plan.addresses.add) {
    if (k.bound.has(a)) throw new Error(`EEXIST: ${a} is already on kube-ipvs0`);
    k.bound.add(a);
  }
}

/** What the netlink layer would read back. */
export function dump(k: FakeIpvsKernel): IpvsCurrentState {
  return {
    services: [...k.services.values()].map((vs) => ({ service: vs.service, destinations: [...vs.dests.values()].reverse() })),
    boundAddresses: new Set(k.bound),
  };
}

export function setCounts(k: FakeIpvsKernel, s: IpvsService, address: string, port: number, active: number, inactive: number): void {
  const vs = find(k, s);
  const dk = destinationKey(virtualServerKey(s), { address, port });
  const cur = vs.dests.get(dk);
  if (cur === undefined) throw new Error(`ENOENT: real server ${dk}`);
  vs.dests.set(dk, { ...cur, activeConnections: active, inactiveConnections: inactive });
}

/** A real server as the kernel holds it, or undefined. */
export function destination(k: FakeIpvsKernel, s: IpvsService, address: string, port: number): IpvsDestination | undefined {
  const key = virtualServerKey(s);
  return k.services.get(key)?.dests.get(destinationKey(key, { address, port }));
}

/** The netlink clients IpvsBackend talks to, over this kernel model (getDestinations calls counted). */
const OPS: Record<IpvsOperation['op'], IpvsOp['op']> = {
  newService: 'new-service', updateService: 'update-service', delService: 'del-service',
  newDestination: 'new-dest', updateDestination: 'update-dest', delDestination: 'del-dest',
};

/** The netlink clients the backend talks to, over the planner's kernel model. */
export function fakeClients(k: FakeIpvsKernel, nodeAddresses: readonly string[] = []) {
  const sysctls = new Map<string, string>();
  let linkIndex: number | undefined;
  const calls = { getDestinations: 0 };
  const ipvs = {
    getServices: () => dump(k).services.map((v) => v.service),
    getDestinations: (s: { address: string; port: number; protocol: string }) => (calls.getDestinations++,
      dump(k).services.find((v) => v.service.address === s.address && v.service.port === s.port && v.service.protocol === s.protocol)?.destinations.slice() ?? []),
    batch: (ops: readonly IpvsOperation[]) => {
      applyOps(k, ops.map((o) => ('destination' in o ? { op: OPS[o.op], service: o.service, dest: o.destination } : { op: OPS[o.op], service: o.service }) as IpvsOp));
      return ops.map(() => undefined);
    },
  };
  const rtnl = {
    getLinkIndex: () => {
      if (linkIndex === undefined) throw new NetlinkError(ENODEV, { operation: 'RTM_GETLINK kube-ipvs0' });
      return linkIndex;
    },
    createDummy: () => void (linkIndex = 7),
    setLinkUp: () => {},
    // The kernel's own link-local address on the dummy is listed too, and must be left alone.
    // Without an index: every interface's, as RTM_GETADDR dumps them (the node's own on eth0, index 2).
    listAddresses: (index?: number) => [
      ...[...k.bound].map((address) => ({ address, family: 'IPv4' as const, index: 7, prefixLength: 32, scope: 0, flags: 0 })),
      { address: 'fe80::1c2d:3eff:fe4f:5a6b', family: 'IPv6' as const, index: 7, prefixLength: 64, scope: 253, flags: 0x80 },
      ...nodeAddresses.map((address) => ({ address, family: address.includes(':') ? 'IPv6' as const : 'IPv4' as const, index: 2, prefixLength: 24, scope: 0, flags: 0 })),
    ].filter((a) => index === undefined || a.index === index),
    addAddresses: (_: number, a: readonly { address: string }[]) => a.map((x) => void k.bound.add(x.address)),
    deleteAddresses: (_: number, a: readonly { address: string }[]) => a.map((x) => void k.bound.delete(x.address)),
    deleteLink: () => void (linkIndex = undefined),
  };
  const sysctl = { ensure: async (name: string, value: string | number) => { const prev = sysctls.get(name) ?? '0'; sysctls.set(name, String(value)); return prev === String(value) ? undefined : prev; } };
  return { ipvs, rtnl, sysctl, sysctls, calls, link: () => linkIndex };
}

const FORWARD_NAME: Record<IpvsDestination['forwardMethod'], string> = { masq: 'Masq', tunnel: 'Tunnel', route: 'Route' };

/** `/proc/net/ip_vs` as the kernel prints this model (ip_vs_ctl.c, ip_vs_info_seq_show; the timeout in jiffies at HZ=250). */
export function procTable(k: FakeIpvsKernel): string {
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
  const v4 = (a: string): string => hex(a.split('.').reduce((n, o) => n * 256 + Number(o), 0), 8);
  const v6 = (a: string): string => `[${expandIPv6(a)}]`;
  const host = (a: string): string => (a.includes(':') ? v6(a) : v4(a));
  let out = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
  for (const { service: s, dests } of k.services.values()) {
    const persistent = (s.flags & 1) !== 0 ? `persistent ${s.timeout * 250} ${s.address.includes(':') ? hex(s.netmask, 8) : 'FFFFFFFF'}` : '';
    out += `${s.protocol}  ${host(s.address)}:${hex(s.port, 4)} ${s.scheduler} ${persistent}\n`;
    for (const d of dests.values()) {
      const wide = d.address.includes(':') ? ' ' : '      ';
      out += `  -> ${host(d.address)}:${hex(d.port, 4)}${wide}${FORWARD_NAME[d.forwardMethod].padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.activeConnections ?? 0).padEnd(10)} ${String(d.inactiveConnections ?? 0).padEnd(10)}\n`;
    }
  }
  return out;
}

/** `fd00::a` -> `fd00:0000:0000:0000:0000:0000:0000:000a`, as the kernel's %pI6 prints it. */
function expandIPv6(a: string): string {
  const [head = '', tail = ''] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
