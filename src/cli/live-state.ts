// Reads what each mode's applier reads back, from the current network namespace, and
// changes nothing: iptables-save, `nft list table`, the IPVS dump over netlink, the
// pinned eBPF maps, and the local addresses (what `addrtype LOCAL` matches).
import { join } from 'node:path';
import { DEFAULT_PIN_ROOT } from '../backends/ebpf/ebpf-attach.js';
import { dumpMaps, LB_MAP_KEYS, openMaps } from '../backends/ebpf/ebpf-maps.js';
import type { EbpfMapsContent } from '../backends/ebpf/maps-content.js';
import type { IpvsVirtualServerDump } from '../backends/ipvs/ipvs-types.js';
import { BpfMap, Libbpf } from '../kernel/bpf/index.js';
import { Iptables, type IptablesVariant } from '../kernel/iptables.js';
import { IpvsClient, RtnetlinkClient } from '../kernel/netlink/index.js';
import { Nft } from '../kernel/nft.js';
import { Ipset } from '../kernel/ipset.js';
import { familySets } from '../backends/ipvs/ipvs-ipsets.js';
import type { IPFamily } from '../model/types.js';

export interface LiveOptions {
  readonly iptablesBackend: IptablesVariant;
  readonly ebpfPinRoot: string | undefined;
}

export const LOOPBACK: readonly string[] = ['127.0.0.0/8', '::1'];

/** iptables-save of the nat and filter tables, one dump. */
export async function iptablesSave(family: IPFamily, opts: LiveOptions): Promise<string> {
  const ipt = new Iptables({ family, variant: opts.iptablesBackend });
  return (await ipt.save('filter')) + (await ipt.save('nat'));
}

/** IPVS mode's ipsets of this family as the kernel holds them (`ipset list`); absent sets are left out. */
export async function ipvsIpsets(family: IPFamily): Promise<Map<string, string[]>> {
  const ipset = new Ipset();
  const sets = new Map<string, string[]>();
  for (const set of familySets(family)) {
    const members = await ipset.members(set.name);
    if (members !== undefined) sets.set(set.name, members.map((m) => m.trim()));
  }
  return sets;
}

export async function nftTable(family: IPFamily, table: string): Promise<string | undefined> {
  return new Nft().listTable(family === 'IPv6' ? 'ip6' : 'ip', table);
}

/** Every virtual server with its real servers. */
export function ipvsDump(): IpvsVirtualServerDump[] {
  const client = IpvsClient.open();
  try {
    return client.getServices().map((service) => ({ service, destinations: client.getDestinations(service) }));
  } finally {
    client.close();
  }
}

export function ebpfMaps(opts: LiveOptions): EbpfMapsContent {
  const lib = Libbpf.open();
  const opened: BpfMap[] = [];
  try {
    return dumpMaps(openMaps(LB_MAP_KEYS, (name) => {
      const map = BpfMap.openPinned(lib, join(opts.ebpfPinRoot ?? DEFAULT_PIN_ROOT, name));
      opened.push(map);
      return map;
    })).content;
  } finally {
    for (const m of opened) m.close();
    lib.close();
  }
}

/** The addresses of every interface here, and loopback. */
export function localAddresses(): string[] {
  const rt = RtnetlinkClient.open();
  try {
    return [...new Set([...rt.listAddresses().map((a) => a.address), ...LOOPBACK])];
  } finally {
    rt.close();
  }
}

/** The addresses on kube-ipvs0 (none when there is no such link). */
export function ipvsBoundAddresses(): Set<string> {
  const rt = RtnetlinkClient.open();
  try {
    let index: number;
    try {
      index = rt.getLinkIndex('kube-ipvs0');
    } catch {
      return new Set();
    }
    // The kernel's own link-local IPv6 address there is not one of svcplane's.
    return new Set(rt.listAddresses(index).map((a) => a.address).filter((a) => !a.toLowerCase().startsWith('fe80:')));
  } finally {
    rt.close();
  }
}
