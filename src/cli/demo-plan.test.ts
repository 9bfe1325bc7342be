import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SourceEvent } from '../sources/source.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ObjectStore } from '../state/object-store.js';
import { makeEndpoint, makeService, makeSlice } from '../state/test-builders.js';
import type { FamilyState } from '../state/types.js';
import { demoPods, DemoError, loadDemo, resolveTarget } from './demo-plan.js';
import { ingressBackendKeys, parseCurlPages, resolveIngressTarget } from './demo-ingress.js';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const NODE = { manifests: EXAMPLES, nodeName: 'node-a', nodeIP: '192.168.77.1', clusterCIDR: '10.244.0.0/16' };

function stateOf(events: SourceEvent[]): FamilyState {
  const store = new ObjectStore();
  store.apply(events);
  return new DesiredStateBuilder(defaultNodeContext({ nodeName: 'node-a' })).update(store, 'all').state.IPv4;
}

describe('demoPods on the bundled examples', async () => {
  const { state, ingresses } = await loadDemo(NODE);
  const pods = demoPods(state, '10.244.0.0/16', 'node-a', ingressBackendKeys(state, ingresses));
  const byIP = new Map(pods.map((p) => [p.ip, p]));

  it('makes one pod per endpoint address inside the pod CIDR, and none for others', () => {
    expect(pods.length).toBeGreaterThan(5);
    expect(pods.every((p) => p.ip.startsWith('10.244.'))).toBe(true);
    expect(byIP.has('192.0.2.42')).toBe(false);
    expect(new Set(pods.map((p) => p.ip)).size).toBe(pods.length);
    expect(new Set(pods.map((p) => p.name)).size).toBe(pods.length);
  });

  it("gives my-service's endpoints their port and node", () => {
    expect(byIP.get('10.244.1.11')).toEqual({ name: 'my-service-1', ip: '10.244.1.11', nodeName: 'node-a', node: 'local', tcp: [9376], udp: [], http: [] });
    expect(byIP.get('10.244.2.11')).toMatchObject({ nodeName: 'node-b', node: 'remote', tcp: [9376] });
  });

  it('merges every port and protocol a pod serves', () => {
    expect(byIP.get('10.244.1.71')).toMatchObject({ name: 'dns-1', tcp: [53], udp: [53] });
    const multi = pods.find((p) => p.name === 'multi-port-1');
    expect(multi?.tcp).toEqual([9376, 9377]);
  });

  it("serves HTTP on the endpoints of the Ingress's backend, and only there", () => {
    expect(ingressBackendKeys(state, ingresses)).toEqual(new Set(['default/web:http']));
    expect(byIP.get('10.244.1.101')).toEqual({ name: 'web-1', ip: '10.244.1.101', nodeName: 'node-a', node: 'local', tcp: [], udp: [], http: [8080] });
    expect(pods.filter((p) => p.http.length > 0).map((p) => p.name)).toEqual(['web-1', 'web-2']);
  });

  it("resolves the Ingress to the node's HTTP port with its host and path, expecting the backend's endpoints", () => {
    const t = resolveIngressTarget(state, pods, ingresses, '192.168.77.1', 20);
    expect(t).toMatchObject({ kind: 'Ingress', ip: '192.168.77.1', port: 80, from: 'client', count: 20, http: { host: 'web.example.com', path: '/' } });
    expect(t?.expected.map((p) => p.ip)).toEqual(['10.244.1.101', '10.244.2.101']);
    expect(t?.title).toContain('-> default/web:http (cluster IP 10.96.0.108)');
    expect(resolveIngressTarget(state, pods, [], '192.168.77.1', 20)).toBeUndefined();
  });

  it('sorts pods by address numerically', () => {
    const ips = pods.map((p) => p.ip.split('.').map(Number));
    const sorted = [...ips].sort((a, b) => (a[2] ?? 0) - (b[2] ?? 0) || (a[3] ?? 0) - (b[3] ?? 0));
    expect(ips).toEqual(sorted);
  });

  it('resolves a ClusterIP target to its VIP and every endpoint pod', () => {
    const t = resolveTarget(state, pods, { service: 'default/my-service:', kind: 'ClusterIP', from: 'node', count: 60 }, '192.168.77.1');
    expect([t.ip, t.port, t.protocol]).toEqual(['10.96.0.100', 80, 'TCP']);
    expect(t.expected.map((p) => p.ip)).toEqual(['10.244.1.11', '10.244.1.12', '10.244.2.11']);
  });

  it('resolves a NodePort target to the node IP and node port', () => {
    const t = resolveTarget(state, pods, { service: 'default/nodeport:', kind: 'NodePort', from: 'client', count: 60 }, '192.168.77.1');
    expect([t.ip, t.port]).toEqual(['192.168.77.1', 30080]);
    expect(t.expected.map((p) => p.ip)).toEqual(['10.244.1.31', '10.244.2.31']);
  });

  it('refuses targets it cannot test', () => {
    const req = { kind: 'ClusterIP', from: 'node', count: 1 } as const;
    expect(() => resolveTarget(state, pods, { ...req, service: 'default/nope:' }, '192.168.77.1')).toThrow(DemoError);
    // The selector-less service's only endpoint (192.0.2.42) has no pod: never contacted.
    expect(() => resolveTarget(state, pods, { ...req, service: 'selectorless/my-service:' }, '192.168.77.1')).toThrow(/outside the pod CIDR/);
    expect(() => resolveTarget(state, pods, { ...req, kind: 'NodePort', service: 'default/my-service:' }, '192.168.77.1')).toThrow(/no node port/);
  });
});

describe('demoPods and resolveTarget on synthetic state', () => {
  it('expects only local endpoints for external traffic under externalTrafficPolicy Local', () => {
    const svc = makeService({
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30001 }],
    });
    const slice = makeSlice({
      ports: [{ name: '', protocol: 'TCP', port: 8080 }],
      endpoints: [makeEndpoint('10.244.1.5', { nodeName: 'node-a' }), makeEndpoint('10.244.2.5', { nodeName: 'node-b' })],
    });
    const state = stateOf([{ type: 'service-upsert', service: svc }, { type: 'slice-upsert', slice }]);
    const pods = demoPods(state, '10.244.0.0/16', 'node-a');
    expect(pods.map((p) => [p.name, p.node])).toEqual([['web-1', 'local'], ['web-2', 'remote']]);
    const external = resolveTarget(state, pods, { service: 'default/web:', kind: 'NodePort', from: 'client', count: 1 }, '192.168.77.1');
    expect(external.expected.map((p) => p.ip)).toEqual(['10.244.1.5']);
    const internal = resolveTarget(state, pods, { service: 'default/web:', kind: 'ClusterIP', from: 'node', count: 1 }, '192.168.77.1');
    expect(internal.expected.map((p) => p.ip)).toEqual(['10.244.1.5', '10.244.2.5']);
  });

  it('skips SCTP ports (no identity server speaks SCTP)', () => {
    const svc = makeService({ ports: [{ name: 'sctp', protocol: 'SCTP', port: 80, targetPort: 8080, nodePort: 0 }] });
    const slice = makeSlice({ ports: [{ name: 'sctp', protocol: 'SCTP', port: 8080 }], endpoints: [makeEndpoint('10.244.1.9')] });
    const state = stateOf([{ type: 'service-upsert', service: svc }, { type: 'slice-upsert', slice }]);
    expect(demoPods(state, '10.244.0.0/16', 'node-a')).toEqual([]);
  });
});

describe('parseCurlPages', () => {
  const mark = (code: number): string => `\n@@svcplane-demo-status ${code}\n`;
  it('reads each body and status; errors, non-200 answers and missing pages fail', () => {
    const out = `web-1\n${mark(200)}web-2\n${mark(200)}<html>bad gateway</html>${mark(502)}${mark(0)}`;
    expect(parseCurlPages(out, 5)).toEqual([
      { ok: true, identity: 'web-1' }, { ok: true, identity: 'web-2' }, { ok: false, error: 'other:HTTP 502' }, { ok: false, error: 'refused' }, { ok: false, error: 'timeout' },
    ]);
  });
});
