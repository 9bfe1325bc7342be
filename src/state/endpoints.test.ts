import { describe, expect, it } from 'vitest';
import type { TopologyContext } from './endpoints.js';
import { categorizeEndpoints, collectEndpoints, computePortEndpoints } from './endpoints.js';
import { makeEndpoint, makeService, makeSlice } from './test-builders.js';

const ctx: TopologyContext = { nodeName: 'node-a', zone: 'zone-a' };
const httpPort = { name: 'http', protocol: 'TCP' as const };
const ips = (eps: readonly { ip: string; port: number }[]): string[] => eps.map((e) => `${e.ip}:${e.port}`);

describe('collectEndpoints', () => {
  it('takes the port by name and protocol from each slice (named targetPorts differ per slice)', () => {
    const slices = [
      makeSlice({ name: 's1', endpoints: [makeEndpoint('10.0.0.2')], ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] }),
      makeSlice({
        name: 's2',
        endpoints: [makeEndpoint('10.0.0.1')],
        ports: [
          { name: 'http', protocol: 'UDP', port: 1 },
          { name: 'http', protocol: 'TCP', port: 9090 },
        ],
      }),
      makeSlice({ name: 's3', endpoints: [makeEndpoint('10.0.0.3')], ports: [{ name: 'metrics', protocol: 'TCP', port: 9100 }] }),
      makeSlice({ name: 's4', endpoints: [makeEndpoint('10.0.0.4')], ports: [{ name: 'http', protocol: 'TCP', port: 0 }] }),
    ];
    expect(ips(collectEndpoints(slices, 'IPv4', httpPort, 'node-a', false).map((c) => c.info))).toEqual([
      '10.0.0.1:9090',
      '10.0.0.2:8080',
    ]);
  });

  it('uses only slices of the family and the first address of an endpoint', () => {
    const slices = [
      makeSlice({ name: 'v4', endpoints: [{ ...makeEndpoint('10.0.0.1'), addresses: ['10.0.0.1', '10.0.0.9'] }] }),
      makeSlice({ name: 'v6', addressType: 'IPv6', endpoints: [makeEndpoint('fd00::1')] }),
      makeSlice({ name: 'fqdn', addressType: 'FQDN', endpoints: [makeEndpoint('db.example')] }),
    ];
    expect(ips(collectEndpoints(slices, 'IPv4', httpPort, 'n', false).map((c) => c.info))).toEqual(['10.0.0.1:8080']);
    expect(ips(collectEndpoints(slices, 'IPv6', httpPort, 'n', false).map((c) => c.info))).toEqual(['fd00::1:8080']);
  });

  it('deduplicates by ip:port, a ready endpoint winning over a not-ready one', () => {
    const slices = [
      makeSlice({ name: 'a', endpoints: [makeEndpoint('10.0.0.1', { ready: false, nodeName: 'x' })] }),
      makeSlice({ name: 'b', endpoints: [makeEndpoint('10.0.0.1', { nodeName: 'y' }), makeEndpoint('10.0.0.2', { ready: false })] }),
      makeSlice({ name: 'c', endpoints: [makeEndpoint('10.0.0.1', { nodeName: 'z' })] }),
    ];
    const got = collectEndpoints(slices, 'IPv4', httpPort, 'n', false).map((c) => c.info);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ ip: '10.0.0.1', ready: true, nodeName: 'y' });
    expect(got[1]).toMatchObject({ ip: '10.0.0.2', ready: false });
  });

  it('marks endpoints on this node as local', () => {
    const slices = [makeSlice({ endpoints: [makeEndpoint('10.0.0.1', { nodeName: 'node-a' }), makeEndpoint('10.0.0.2', { nodeName: 'node-b' })] })];
    expect(collectEndpoints(slices, 'IPv4', httpPort, 'node-a', false).map((c) => c.info.isLocal)).toEqual([true, false]);
  });
});

describe('categorizeEndpoints', () => {
  const compute = (endpoints: ReturnType<typeof makeEndpoint>[], svc = makeService(), c = ctx) =>
    computePortEndpoints(svc, httpPort, 'IPv4', [makeSlice({ endpoints })], c);

  it('uses only ready endpoints', () => {
    const r = compute([makeEndpoint('10.0.0.1'), makeEndpoint('10.0.0.2', { ready: false })]);
    expect(ips(r.clusterEndpoints)).toEqual(['10.0.0.1:8080']);
    expect(r.hasEndpoints).toBe(true);
  });

  it('falls back to serving+terminating endpoints only when none is ready', () => {
    const terminating = makeEndpoint('10.0.0.2', { ready: false, serving: true, terminating: true });
    const notServing = makeEndpoint('10.0.0.3', { ready: false, serving: false, terminating: true });
    const withReady = compute([makeEndpoint('10.0.0.1'), terminating, notServing]);
    expect(ips(withReady.clusterEndpoints)).toEqual(['10.0.0.1:8080']);
    const noReady = compute([terminating, notServing]);
    expect(ips(noReady.clusterEndpoints)).toEqual(['10.0.0.2:8080']);
    expect(noReady.hasEndpoints).toBe(true);
    const nothing = compute([notServing, makeEndpoint('10.0.0.4', { ready: false })]);
    expect(nothing.clusterEndpoints).toEqual([]);
    expect(nothing.hasEndpoints).toBe(false);
  });

  it('treats every endpoint as ready with publishNotReadyAddresses', () => {
    const r = compute([makeEndpoint('10.0.0.1'), makeEndpoint('10.0.0.2', { ready: false })], makeService({ publishNotReadyAddresses: true }));
    expect(ips(r.clusterEndpoints)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    expect(r.clusterEndpoints.every((e) => e.ready)).toBe(true);
  });

  it('computes local endpoints with their own terminating fallback', () => {
    const r = compute([
      makeEndpoint('10.0.0.1', { nodeName: 'node-b' }),
      makeEndpoint('10.0.0.2', { nodeName: 'node-a', ready: false, serving: true, terminating: true }),
      makeEndpoint('10.0.0.3', { nodeName: 'node-a', ready: false }),
    ]);
    // A ready endpoint elsewhere does not stop the local fallback.
    expect(ips(r.localEndpoints)).toEqual(['10.0.0.2:8080']);
    expect(ips(r.clusterEndpoints)).toEqual(['10.0.0.1:8080']);
    const withReadyLocal = compute([
      makeEndpoint('10.0.0.2', { nodeName: 'node-a', ready: false, serving: true, terminating: true }),
      makeEndpoint('10.0.0.4', { nodeName: 'node-a' }),
    ]);
    expect(ips(withReadyLocal.localEndpoints)).toEqual(['10.0.0.4:8080']);
  });

  it('honours zone hints when every ready endpoint has them and one matches this zone', () => {
    const hinted = [
      makeEndpoint('10.0.0.1', { hintsForZones: ['zone-a'] }),
      makeEndpoint('10.0.0.2', { hintsForZones: ['zone-b'] }),
      makeEndpoint('10.0.0.3', { hintsForZones: ['zone-a', 'zone-c'] }),
      makeEndpoint('10.0.0.4', { ready: false }), // not ready: its missing hints do not matter
    ];
    expect(ips(compute(hinted).clusterEndpoints)).toEqual(['10.0.0.1:8080', '10.0.0.3:8080']);
  });

  it('ignores zone hints when one ready endpoint lacks them, none names this zone, or the zone is unknown', () => {
    const partial = [makeEndpoint('10.0.0.1', { hintsForZones: ['zone-a'] }), makeEndpoint('10.0.0.2')];
    expect(ips(compute(partial).clusterEndpoints)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    const otherZone = [makeEndpoint('10.0.0.1', { hintsForZones: ['zone-b'] }), makeEndpoint('10.0.0.2', { hintsForZones: ['zone-c'] })];
    expect(ips(compute(otherZone).clusterEndpoints)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    const hinted = [makeEndpoint('10.0.0.1', { hintsForZones: ['zone-a'] }), makeEndpoint('10.0.0.2', { hintsForZones: ['zone-b'] })];
    expect(ips(compute(hinted, makeService(), { nodeName: 'node-a', zone: undefined }).clusterEndpoints)).toHaveLength(2);
  });

  it('prefers node hints naming this node when every ready endpoint has node hints', () => {
    const eps = [
      makeEndpoint('10.0.0.1', { hintsForNodes: ['node-b'], hintsForZones: ['zone-a'] }),
      makeEndpoint('10.0.0.2', { hintsForNodes: ['node-a'], hintsForZones: ['zone-a'] }),
    ];
    expect(ips(compute(eps).clusterEndpoints)).toEqual(['10.0.0.2:8080']);
    const noneForNode = eps.map((e) => ({ ...e, hintsForNodes: ['node-z'] }));
    expect(ips(compute(noneForNode).clusterEndpoints)).toHaveLength(2);
  });

  it('with PreferClose and no hints, prefers ready endpoints in this zone when any exist', () => {
    const svc = makeService({ trafficDistribution: 'PreferClose' });
    const eps = [makeEndpoint('10.0.0.1', { zone: 'zone-b' }), makeEndpoint('10.0.0.2', { zone: 'zone-a' })];
    expect(ips(compute(eps, svc).clusterEndpoints)).toEqual(['10.0.0.2:8080']);
    expect(ips(compute(eps).clusterEndpoints)).toHaveLength(2); // no trafficDistribution
    const elsewhere = eps.map((e) => ({ ...e, zone: 'zone-z' }));
    expect(ips(compute(elsewhere, svc).clusterEndpoints)).toHaveLength(2);
  });

  it('keeps endpoints sorted by ip then port', () => {
    const cands = collectEndpoints(
      [
        makeSlice({ name: 'b', endpoints: [makeEndpoint('10.0.0.2'), makeEndpoint('10.0.0.1')], ports: [{ name: 'http', protocol: 'TCP', port: 81 }] }),
        makeSlice({ name: 'a', endpoints: [makeEndpoint('10.0.0.1')], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
      ],
      'IPv4',
      httpPort,
      'n',
      false,
    );
    expect(ips(categorizeEndpoints(cands, undefined, ctx).clusterEndpoints)).toEqual(['10.0.0.1:80', '10.0.0.1:81', '10.0.0.2:81']);
  });
});
