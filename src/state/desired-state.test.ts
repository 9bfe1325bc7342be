import { describe, expect, it } from 'vitest';
import type { SourceEvent } from '../sources/source.js';
import { DesiredStateBuilder } from './desired-state.js';
import { defaultNodeContext } from './node-context.js';
import { ObjectStore } from './object-store.js';
import { makeEndpoint, makeService, makeSlice } from './test-builders.js';

const ctx = defaultNodeContext({ nodeName: 'node-a', zone: 'zone-a' });

function setup(events: SourceEvent[]): { store: ObjectStore; builder: DesiredStateBuilder } {
  const store = new ObjectStore();
  store.apply(events);
  return { store, builder: new DesiredStateBuilder(ctx) };
}

describe('DesiredStateBuilder', () => {
  it('builds one entry per service port with the service fields of its family', () => {
    const svc = makeService({
      type: 'LoadBalancer',
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 30053 },
      ],
      externalIPs: ['192.0.2.10', '2001:db8::10'],
      loadBalancerIngressIPs: ['198.51.100.1'],
      loadBalancerSourceRanges: ['203.0.113.0/24', '2001:db8::/64'],
      sessionAffinity: 'ClientIP',
      affinityTimeoutSeconds: 300,
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
    });
    const { store, builder } = setup([{ type: 'service-upsert', service: svc }, { type: 'slice-upsert', slice: makeSlice() }]);
    const { state, changes } = builder.update(store, 'all');
    expect([...changes.IPv4].sort()).toEqual(['default/web:dns', 'default/web:http']);
    expect(state.IPv6.size).toBe(0);
    expect(state.IPv4.get('default/web:http')).toMatchObject({
      namespace: 'default',
      serviceName: 'web',
      portName: 'http',
      family: 'IPv4',
      protocol: 'TCP',
      port: 80,
      clusterIP: '10.96.0.10',
      externalIPs: ['192.0.2.10'],
      loadBalancerIPs: ['198.51.100.1'],
      loadBalancerSourceRanges: ['203.0.113.0/24'],
      nodePort: 30080,
      healthCheckNodePort: 32000,
      affinityTimeoutSeconds: 300,
      externalPolicyLocal: true,
      internalPolicyLocal: false,
      hasEndpoints: true,
    });
    // The slice has no 'dns' port: no endpoints for it.
    expect(state.IPv4.get('default/web:dns')).toMatchObject({ clusterEndpoints: [], hasEndpoints: false, nodePort: 30053 });
  });

  it('carries svcplane.io/ annotations (and no others) for the modes; an annotation change is a change of the service port', () => {
    const plain = makeService();
    const { store, builder } = setup([{ type: 'service-upsert', service: plain }]);
    const first = builder.update(store, 'all');
    expect([...first.state.IPv4.values()][0]?.modeAnnotations).toBeUndefined();
    store.apply([{ type: 'service-upsert', service: { ...plain, annotations: { 'svcplane.io/ipvs-scheduler': 'lc', 'example.com/other': 'x' } } }]);
    const second = builder.update(store, new Set(['default/web']));
    expect([...second.state.IPv4.values()].map((sp) => sp.modeAnnotations)).toEqual([{ 'svcplane.io/ipvs-scheduler': 'lc' }]);
    expect(second.changes.IPv4.size).toBe(1);
  });

  it('drops nodePort, LB IPs and health check for ClusterIP services; ETP Local needs external access', () => {
    const svc = makeService({
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
      loadBalancerIngressIPs: ['198.51.100.1'],
      externalTrafficPolicy: 'Local',
      internalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
    });
    const { store, builder } = setup([{ type: 'service-upsert', service: svc }]);
    expect(builder.update(store, 'all').state.IPv4.get('default/web:http')).toMatchObject({
      nodePort: 0,
      loadBalancerIPs: [],
      healthCheckNodePort: 0,
      affinityTimeoutSeconds: 0,
      externalPolicyLocal: false,
      internalPolicyLocal: true,
    });
  });

  it('fills local endpoints for ETP/ITP Local services', () => {
    const svc = makeService({ type: 'NodePort', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] });
    const slice = makeSlice({ endpoints: [makeEndpoint('10.0.0.1', { nodeName: 'node-a' }), makeEndpoint('10.0.0.2', { nodeName: 'node-b' })] });
    const { store, builder } = setup([{ type: 'service-upsert', service: svc }, { type: 'slice-upsert', slice }]);
    const sp = builder.update(store, 'all').state.IPv4.get('default/web:http');
    expect(sp?.externalPolicyLocal).toBe(true);
    expect(sp?.localEndpoints.map((e) => e.ip)).toEqual(['10.0.0.1']);
    expect(sp?.clusterEndpoints.map((e) => e.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('builds both families for a dual-stack service from slices of both address types', () => {
    const svc = makeService({ clusterIPs: ['10.96.0.10', 'fd00:96::10'], ipFamilies: ['IPv4', 'IPv6'], externalIPs: ['2001:db8::7'] });
    const { store, builder } = setup([
      { type: 'service-upsert', service: svc },
      { type: 'slice-upsert', slice: makeSlice({ name: 'web-v4' }) },
      { type: 'slice-upsert', slice: makeSlice({ name: 'web-v6', addressType: 'IPv6', endpoints: [makeEndpoint('fd00::1')] }) },
    ]);
    const { state, changes } = builder.update(store, 'all');
    expect([...changes.IPv4]).toEqual(['default/web:http']);
    expect([...changes.IPv6]).toEqual(['default/web:http']);
    const v4 = state.IPv4.get('default/web:http');
    const v6 = state.IPv6.get('default/web:http');
    expect(v4).toMatchObject({ clusterIP: '10.96.0.10', externalIPs: [], family: 'IPv4' });
    expect(v4?.clusterEndpoints.map((e) => e.ip)).toEqual(['10.0.0.1']);
    expect(v6).toMatchObject({ clusterIP: 'fd00:96::10', externalIPs: ['2001:db8::7'], family: 'IPv6' });
    expect(v6?.clusterEndpoints.map((e) => e.ip)).toEqual(['fd00::1']);
  });

  it('produces nothing for headless and ExternalName services', () => {
    const { store, builder } = setup([
      { type: 'service-upsert', service: makeService({ name: 'headless', headless: true, clusterIPs: [] }) },
      { type: 'service-upsert', service: makeService({ name: 'ext', type: 'ExternalName', clusterIPs: [], externalName: 'db.example' }) },
      { type: 'slice-upsert', slice: makeSlice({ serviceName: 'headless' }) },
    ]);
    const { state, changes } = builder.update(store, 'all');
    expect(state.IPv4.size + state.IPv6.size).toBe(0);
    expect(changes.IPv4.size + changes.IPv6.size).toBe(0);
  });

  it('reports modified and removed ports, and nothing for identical re-upserts', () => {
    const { store, builder } = setup([{ type: 'service-upsert', service: makeService() }, { type: 'slice-upsert', slice: makeSlice() }]);
    const first = builder.update(store, 'all');
    expect(first.changes.IPv4.size).toBe(1);

    const same = builder.updateFrom(store, store.apply([{ type: 'service-upsert', service: makeService() }, { type: 'slice-upsert', slice: makeSlice() }]));
    expect(same.changes.IPv4.size).toBe(0);
    expect(same.state).toEqual(first.state);
    expect(same.state.IPv4).toBe(first.state.IPv4); // nothing copied
    const entry = first.state.IPv4.get('default/web:http');
    // A forced recompute of an unchanged service also reports nothing.
    const forced = builder.update(store, 'all');
    expect(forced.changes.IPv4.size).toBe(0);
    expect(forced.state.IPv4.get('default/web:http')).toBe(entry);

    const ep = builder.updateFrom(store, store.apply([{ type: 'slice-upsert', slice: makeSlice({ endpoints: [makeEndpoint('10.0.0.5')] }) }]));
    expect([...ep.changes.IPv4]).toEqual(['default/web:http']);
    expect(ep.changes.endpointChanges).toBe(1);
    expect(ep.changes.serviceChanges).toBe(0);
    expect(ep.state.IPv4.get('default/web:http')?.clusterEndpoints.map((e) => e.ip)).toEqual(['10.0.0.5']);
    // The earlier snapshot is untouched.
    expect(first.state.IPv4.get('default/web:http')?.clusterEndpoints.map((e) => e.ip)).toEqual(['10.0.0.1']);

    const renamed = makeService({ ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 8443, nodePort: 0 }] });
    const ports = builder.updateFrom(store, store.apply([{ type: 'service-upsert', service: renamed }]));
    expect([...ports.changes.IPv4].sort()).toEqual(['default/web:http', 'default/web:https']);
    expect([...ports.state.IPv4.keys()]).toEqual(['default/web:https']);
    expect(ports.changes.serviceChanges).toBe(1);

    const gone = builder.updateFrom(store, store.apply([{ type: 'service-delete', namespace: 'default', name: 'web' }]));
    expect([...gone.changes.IPv4]).toEqual(['default/web:https']);
    expect(gone.state.IPv4.size).toBe(0);
  });

  it('recomputes everything after setContext', () => {
    const slice = makeSlice({ endpoints: [makeEndpoint('10.0.0.1', { nodeName: 'node-b' })] });
    const { store, builder } = setup([{ type: 'service-upsert', service: makeService() }, { type: 'slice-upsert', slice }]);
    expect(builder.update(store, 'all').state.IPv4.get('default/web:http')?.localEndpoints).toEqual([]);
    builder.setContext({ ...ctx, nodeName: 'node-b' });
    const after = builder.update(store, new Set());
    expect([...after.changes.IPv4]).toEqual(['default/web:http']);
    expect(after.state.IPv4.get('default/web:http')?.localEndpoints.map((e) => e.ip)).toEqual(['10.0.0.1']);
  });

  it('updates one service among 10,000 quickly and reports only its ports', () => {
    const slice = (name: string, ip: string) =>
      makeSlice({
        name: `${name}-1`,
        serviceName: name,
        endpoints: [makeEndpoint(ip)],
        ports: [
          { name: 'http', protocol: 'TCP', port: 8080 },
          { name: 'grpc', protocol: 'TCP', port: 9000 },
        ],
      });
    const events: SourceEvent[] = [];
    for (let i = 0; i < 10_000; i++) {
      const name = `svc-${i}`;
      const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      events.push({
        type: 'service-upsert',
        service: makeService({
          name,
          clusterIPs: [ip],
          ports: [
            { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 },
            { name: 'grpc', protocol: 'TCP', port: 9000, targetPort: 9000, nodePort: 0 },
          ],
        }),
      });
      events.push({ type: 'slice-upsert', slice: slice(name, `10.1.${(i >> 8) & 255}.${i & 255}`) });
    }
    const { store, builder } = setup(events);
    const all = builder.update(store, 'all');
    expect(all.state.IPv4.size).toBe(20_000);

    let best = Infinity;
    let last = all;
    for (let round = 1; round <= 5; round++) {
      const batch = store.apply([
        { type: 'slice-upsert', slice: slice('svc-4242', `10.2.0.${round}`) },
      ]);
      const t0 = performance.now();
      last = builder.updateFrom(store, batch);
      best = Math.min(best, performance.now() - t0);
      expect([...last.changes.IPv4].sort()).toEqual(['default/svc-4242:grpc', 'default/svc-4242:http']);
      expect(last.changes.IPv6.size).toBe(0);
    }
    expect(last.state.IPv4.get('default/svc-4242:http')?.clusterEndpoints.map((e) => e.ip)).toEqual(['10.2.0.5']);
    expect(last.state.IPv4.size).toBe(20_000);
    expect(best).toBeLessThan(5);
  });
});
