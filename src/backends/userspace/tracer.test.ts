import { describe, expect, it } from 'vitest';
import type { TraceOutcome } from '../common/trace.js';
import type { ListenerWant } from './planner.js';
import { traceListeners } from './tracer.js';

const WANT: ListenerWant = {
  id: 'IPv4|default/web:http|internal', servicePort: 'default/web:http', family: 'IPv4', protocol: 'TCP', path: 'internal', host: '192.168.1.10', port: 0,
  backends: [{ ip: '10.244.1.1', port: 8080, key: '10.244.1.1:8080' }, { ip: '10.244.2.2', port: 8080, key: '10.244.2.2:8080' }],
  none: 'reject', affinitySeconds: 0, frontends: [], allowedSources: undefined,
};
const dnat = (destination: string): TraceOutcome => ({ probability: 1, verdict: 'DNAT', destination, masqueraded: false, chains: ['nat:PREROUTING', 'nat:KUBE-PORTALS-CONTAINER'], affinityUpdates: [] });

describe('userspace tracer', () => {
  it('a redirect to a listener goes on to each backend in turn, from the node', () => {
    const out = traceListeners([WANT], new Map([[WANT.id, 40123]]), [dnat('192.168.1.10:40123')], 'TCP', '10.96.0.10', 80);
    expect(out.map((o) => [o.destination, o.probability, o.masqueraded])).toEqual([['10.244.1.1:8080', 0.5, true], ['10.244.2.2:8080', 0.5, true]]);
    expect(out[0]?.chains.slice(-2)).toEqual(['listener default/web:http internal 192.168.1.10:40123', 'round-robin']);
  });

  it('a plan names the stand-in port of a kernel-chosen listener as such; a DNAT elsewhere is left alone', () => {
    const out = traceListeners([WANT], new Map([[WANT.id, 65535]]), [dnat('192.168.1.10:65535')], 'TCP', '10.96.0.10', 80, true);
    expect(out[0]?.chains).toContain('listener default/web:http internal 192.168.1.10:(kernel-chosen port)');
    expect(traceListeners([WANT], new Map([[WANT.id, 40123]]), [dnat('192.168.1.10:9')], 'TCP', '10.96.0.10', 80)).toEqual([dnat('192.168.1.10:9')]);
  });
});
