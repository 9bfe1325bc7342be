// What svcplane's BPF programs do to the first packet of a connection, read from the
// load-balancer maps (planned or dumped from the kernel): the socket programs
// (svcp_sock.h) translate connects from pods and node processes, the tc program
// (svcp_nodeport*.h) packets arriving from outside. The same lookups in the same order:
// slot 0 of (address, port, protocol, EXT), INT instead when the service has two scopes
// (sockets only); no endpoints refuse (sockets) or drop (tc); source ranges drop (tc);
// a backend elsewhere is masqueraded (tc). Each backend slot is an even share (Maglev:
// its share of the lookup table).
import type { Protocol } from '../../model/types.js';
import { addressIn, formatHostPort } from '../common/address.js';
import type { TraceOutcome, TracePacket, TraceResult } from '../common/trace.js';
import { lb4KeyString, type EbpfMapsContent } from './maps-content.js';
import {
  BE_FLAG_LOCAL, LB_LOOKUP_SCOPE_EXT, LB_LOOKUP_SCOPE_INT, SVC_FLAG_EXTERNAL_IP, SVC_FLAG_LOADBALANCER, SVC_FLAG_MAGLEV, SVC_FLAG_NODEPORT,
  SVC_FLAG_SOURCE_RANGES, SVC_FLAG_TWO_SCOPES, type Lb4Key, type LookupScope,
} from './map-types.js';

const SVC_FLAGS_EXTERNAL = SVC_FLAG_NODEPORT | SVC_FLAG_EXTERNAL_IP | SVC_FLAG_LOADBALANCER;

function ended(verdict: 'ACCEPT' | 'DROP' | 'REJECT', chains: readonly string[]): TraceOutcome {
  return { probability: 1, verdict, masqueraded: false, chains, affinityUpdates: [] };
}

export function tracePacket(c: EbpfMapsContent, packet: TracePacket): TraceResult {
  const socket = packet.from !== 'outside';
  const program = socket ? 'bpf:cgroup/connect' : 'bpf:tc ingress';
  const key = (scope: LookupScope, slot: number): Lb4Key => ({ address: packet.dst, port: packet.dport, proto: packet.protocol as Protocol, scope, slot });
  const keyText = (k: Lb4Key): string => `svcp_lb_svc ${formatHostPort(k.address, k.port)}/${k.proto} ${k.scope === LB_LOOKUP_SCOPE_INT ? 'INT' : 'EXT'}`;
  let k = key(LB_LOOKUP_SCOPE_EXT, 0);
  let svc = c.services.get(lb4KeyString(k))?.value;
  const chains = [program, keyText(k)];
  if (svc !== undefined && socket && (svc.flags & SVC_FLAG_TWO_SCOPES) !== 0) {
    k = key(LB_LOOKUP_SCOPE_INT, 0);
    svc = c.services.get(lb4KeyString(k))?.value;
    chains.push(keyText(k));
  }
  if (svc === undefined || (!socket && (svc.flags & SVC_FLAGS_EXTERNAL) === 0)) return { outcomes: [ended('ACCEPT', [program])] };
  if (!socket && (svc.flags & SVC_FLAG_SOURCE_RANGES) !== 0) {
    const ranges = [...c.sourceRanges.values()].filter((r) => r.revNatIndex === svc.revNatIndex).map((r) => r.cidr);
    chains.push('svcp_lb_srcr');
    if (!addressIn(ranges, packet.src)) return { outcomes: [ended('DROP', chains)] };
  }
  if (svc.count === 0) return { outcomes: [ended(socket ? 'REJECT' : 'DROP', chains)] };
  const shares = new Map<number, number>();
  let missing = 0;
  const table = (svc.flags & SVC_FLAG_MAGLEV) !== 0 ? c.maglev.get(svc.revNatIndex) : undefined;
  if (table !== undefined) {
    for (const id of table) shares.set(id, (shares.get(id) ?? 0) + 1 / table.length);
  } else {
    for (let slot = 1; slot <= svc.count; slot++) {
      const id = c.services.get(lb4KeyString({ ...k, slot }))?.value.backendId;
      if (id === undefined) missing += 1 / svc.count;
      else shares.set(id, (shares.get(id) ?? 0) + 1 / svc.count);
    }
  }
  const outcomes: TraceOutcome[] = [];
  for (const [id, share] of shares) {
    const be = c.backends.get(id);
    if (be === undefined) {
      missing += share;
      continue;
    }
    // Sockets connect straight to the backend: the source is the client's own.
    const masqueraded = !socket && (be.flags & BE_FLAG_LOCAL) === 0;
    outcomes.push({ probability: share, verdict: 'DNAT', destination: formatHostPort(be.address, be.port), masqueraded, chains: [...chains, 'svcp_lb_be'], affinityUpdates: [] });
  }
  // A slot naming no backend: sockets go on untranslated, tc drops.
  if (missing > 0) outcomes.push({ ...ended(socket ? 'ACCEPT' : 'DROP', [...chains, 'svcp_lb_be (missing)']), probability: missing });
  return { outcomes };
}
