import { describe, expect, it } from 'vitest';
import { familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { CLIENT, CLUSTER_IP, ctx, LB_IP, local3, NODE_IP, NODE_PORT, POD, remote1, remote2 } from '../../../test/lib/trace-scenario.js';
import type { TracePacket } from '../common/trace.js';
import { emptyMapsContent } from './maps-content.js';
import { planEbpf } from './planner.js';
import { tracePacket } from './tracer.js';
import type { ServicePortState } from '../../state/types.js';

function content(...ports: ServicePortState[]) {
  return planEbpf({ IPv4: familyState(...ports), IPv6: new Map() }, ctx(), emptyMapsContent(), { algorithm: 'random' }).content;
}

const packet = (p: Partial<TracePacket>): TracePacket => ({ src: POD, dst: CLUSTER_IP, dport: 80, protocol: 'TCP', from: 'pod', ...p });
const shares = (c: ReturnType<typeof content>, p: TracePacket): Record<string, [number, boolean]> =>
  Object.fromEntries(tracePacket(c, p).outcomes.map((o) => [o.destination ?? o.verdict, [Number(o.probability.toFixed(6)), o.masqueraded]]));

describe('eBPF tracer over the load-balancer maps', () => {
  it('a cluster IP from a pod: the socket program picks each backend slot evenly, the source kept', () => {
    const c = content(servicePort({ clusterEndpoints: [remote1, remote2, local3] }));
    expect(shares(c, packet({}))).toEqual({ '10.244.1.1:8080': [0.333333, false], '10.244.2.2:8080': [0.333333, false], '10.244.0.3:8080': [0.333333, false] });
    // The tc program serves external frontends only: a cluster IP from outside passes untouched.
    expect(shares(c, packet({ from: 'outside', src: CLIENT }))).toEqual({ ACCEPT: [1, false] });
  });

  it('a NodePort from outside: tc masquerades for backends on other nodes only', () => {
    const c = content(servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1, local3] }));
    expect(shares(c, packet({ from: 'outside', src: CLIENT, dst: NODE_IP, dport: NODE_PORT }))).toEqual({ '10.244.1.1:8080': [0.5, true], '10.244.0.3:8080': [0.5, false] });
  });

  it('no endpoints: sockets refuse, tc drops; source ranges drop other sources', () => {
    const none = content(servicePort({ nodePort: NODE_PORT }));
    expect(tracePacket(none, packet({})).outcomes.map((o) => o.verdict)).toEqual(['REJECT']);
    expect(tracePacket(none, packet({ from: 'outside', src: CLIENT, dst: NODE_IP, dport: NODE_PORT })).outcomes.map((o) => o.verdict)).toEqual(['DROP']);
    const fw = content(servicePort({ loadBalancerIPs: [LB_IP], loadBalancerSourceRanges: ['203.0.113.0/24'], clusterEndpoints: [remote1] }));
    expect(shares(fw, packet({ from: 'outside', src: CLIENT, dst: LB_IP }))).toEqual({ '10.244.1.1:8080': [1, true] });
    expect(shares(fw, packet({ from: 'outside', src: '192.0.2.1', dst: LB_IP }))).toEqual({ DROP: [1, false] });
  });

  it('a slot entry missing from the map (drift): its share goes on untranslated from a socket', () => {
    const c = content(servicePort({ clusterEndpoints: [remote1, remote2] }));
    const slot2 = [...c.services.values()].find((e) => e.key.address === CLUSTER_IP && e.key.slot === 2);
    c.services.remove(slot2!.key);
    expect(Object.keys(shares(c, packet({}))).sort()).toEqual(['10.244.1.1:8080', 'ACCEPT'].sort());
  });
});
