// What IPVS does to the first packet of a connection once netfilter has accepted it (the
// companion iptables rules are traced by the iptables tracer first): a virtual server on
// the packet's destination forwards it to one of its real servers (masquerading forward,
// the destination rewritten), in shares proportional to their weights as rr/wrr hand out
// connections; no virtual server leaves it to the local stack. The source is masqueraded
// when the companion rules marked it (KUBE-POSTROUTING sees IPVS's output).
import type { IPFamily, Protocol } from '../../model/types.js';
import { formatHostPort, ipFamily } from '../common/address.js';
import type { TraceOutcome } from '../common/trace.js';
import type { IpvsDestination, IpvsService } from './ipvs-types.js';

export interface TracedVirtualServer {
  readonly service: IpvsService;
  readonly destinations: readonly IpvsDestination[];
}

function label(s: IpvsService): string {
  return `ipvs:${s.protocol} ${formatHostPort(s.address, s.port)} ${s.scheduler}`;
}

export function findVirtualServer(servers: Iterable<TracedVirtualServer>, dst: string, dport: number, protocol: Protocol): TracedVirtualServer | undefined {
  const family: IPFamily | undefined = ipFamily(dst);
  for (const vs of servers) {
    const s = vs.service;
    if (s.fwmark === undefined || s.fwmark === 0) {
      if (s.af === family && s.address === dst && s.port === dport && s.protocol === protocol) return vs;
    }
  }
  return undefined;
}

/**
 * The outcomes after IPVS of one outcome of the companion rules. `masqueradeMark`: the bit
 * KUBE-MARK-MASQ sets. Outcomes that did not reach IPVS (DROP, REJECT) pass unchanged.
 */
export function traceVirtualServers(servers: Iterable<TracedVirtualServer>, before: TraceOutcome, protocol: Protocol, dst: string, dport: number, masqueradeMark: number): TraceOutcome[] {
  if (before.verdict !== 'ACCEPT') return [before];
  const vs = findVirtualServer(servers, dst, dport, protocol);
  if (vs === undefined) return [before];
  const chains = [...before.chains, label(vs.service)];
  const live = vs.destinations.filter((d) => d.weight > 0);
  const total = live.reduce((sum, d) => sum + d.weight, 0);
  // No real server with weight: IPVS has nothing to forward to; the local stack answers the VIP.
  if (total === 0) return [{ ...before, chains }];
  const masqueraded = ((before.mark ?? 0) & masqueradeMark) !== 0;
  return live.map((d) => ({
    probability: before.probability * (d.weight / total),
    verdict: 'DNAT',
    destination: formatHostPort(d.address, d.port),
    masqueraded,
    chains,
    affinityUpdates: before.affinityUpdates,
  }));
}
