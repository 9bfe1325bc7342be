import { describe, expect, it } from 'vitest';
import type { TraceOutcome } from '../common/trace.js';
import { traceVirtualServers, type TracedVirtualServer } from './tracer.js';

const service = { af: 'IPv4' as const, protocol: 'TCP' as const, address: '10.96.0.10', port: 80, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 0xffffffff };
const dest = (address: string, weight: number) => ({ address, port: 8080, forwardMethod: 'masq' as const, weight, upperThreshold: 0, lowerThreshold: 0 });
const SERVERS: TracedVirtualServer[] = [{ service, destinations: [dest('10.244.1.1', 1), dest('10.244.1.2', 3), dest('10.244.1.3', 0)] }];
const accepted = (mark?: number): TraceOutcome => ({ probability: 1, verdict: 'ACCEPT', masqueraded: false, chains: ['nat:PREROUTING'], affinityUpdates: [], ...(mark !== undefined ? { mark } : {}) });

describe('IPVS tracer', () => {
  it('forwards to the real servers in shares of their weights; weight 0 (draining) gets none', () => {
    const out = traceVirtualServers(SERVERS, accepted(), 'TCP', '10.96.0.10', 80, 0x4000);
    expect(out.map((o) => [o.destination, o.probability, o.masqueraded])).toEqual([['10.244.1.1:8080', 0.25, false], ['10.244.1.2:8080', 0.75, false]]);
    expect(out[0]?.chains).toEqual(['nat:PREROUTING', 'ipvs:TCP 10.96.0.10:80 wrr']);
  });

  it('masquerades what the companion rules marked, and leaves others (another port, a REJECT) alone', () => {
    expect(traceVirtualServers(SERVERS, accepted(0x4000), 'TCP', '10.96.0.10', 80, 0x4000).every((o) => o.masqueraded)).toBe(true);
    expect(traceVirtualServers(SERVERS, accepted(), 'TCP', '10.96.0.10', 81, 0x4000)).toEqual([accepted()]);
    const rejected: TraceOutcome = { ...accepted(), verdict: 'REJECT' };
    expect(traceVirtualServers(SERVERS, rejected, 'TCP', '10.96.0.10', 80, 0x4000)).toEqual([rejected]);
  });
});
