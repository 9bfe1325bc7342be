import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { ProxyBackend, SyncOutcome } from '../backends/backend.js';
import { ValidationError } from '../model/errors.js';
import type { EndpointSlice, Service } from '../model/types.js';
import type { Source, SourceEvent, SourceSink } from '../sources/source.js';
import { defaultNodeContext, type NodeContext } from '../state/node-context.js';
import type { DesiredState, StateChanges } from '../state/types.js';
import { CommandNotFoundError } from '../kernel/exec.js';
import { RestoreError } from '../kernel/iptables.js';
import { ConntrackCleanupError } from './conntrack-cleaner.js';
import { Agent } from './agent.js';
import { HealthTracker } from './health.js';
import { Metrics } from './metrics.js';

function service(name: string, ip: string): Service {
  return {
    namespace: 'default', name, type: 'ClusterIP', clusterIPs: [ip], headless: false, ipFamilies: ['IPv4'],
    ports: [{ name: '', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 0 }], selector: { app: name }, sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800, externalIPs: [], loadBalancerIP: undefined, loadBalancerIngressIPs: [], loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 0, publishNotReadyAddresses: false,
    externalName: undefined, trafficDistribution: undefined, labels: {}, annotations: {},
  };
}

function slice(svc: string, ips: string[]): EndpointSlice {
  return {
    namespace: 'default', name: `${svc}-abc`, serviceName: svc, addressType: 'IPv4', origin: 'EndpointSlice',
    ports: [{ name: '', protocol: 'UDP', port: 5353 }],
    endpoints: ips.map((ip) => ({ addresses: [ip], ready: true, serving: true, terminating: false, nodeName: 'n1', zone: undefined, hintsForZones: [], hintsForNodes: [] })),
  };
}

class FakeSource implements Source {
  sink: SourceSink | undefined;
  constructor(private readonly initial: SourceEvent[]) {}
  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    sink([...this.initial, { type: 'synced' }]);
  }
  async stop(): Promise<void> {}
  status() {
    return { healthy: true, detail: 'fake' };
  }
}

class RecordingBackend implements ProxyBackend {
  readonly mode = 'fake';
  calls: Array<{ full: boolean; ports: string[]; changes?: StateChanges }> = [];
  failNext = false;
  async sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    this.calls.push({ full: !changes, ports: [...state.IPv4.keys()], ...(changes ? { changes } : {}) });
    if (this.failNext) {
      this.failNext = false;
      throw new RestoreError('iptables-restore', 'line 3 failed', 1, 3, '-A KUBE-SERVICES');
    }
    return { kind: changes ? 'partial' : 'full', ruleCounts: { nat: 3 }, sent: {} };
  }
  contexts: NodeContext[] = [];
  async cleanup(): Promise<void> {}
  setContext(ctx: NodeContext): void {
    this.contexts.push(ctx);
  }
}

function setup(initial: SourceEvent[]) {
  const source = new FakeSource(initial);
  const backend = new RecordingBackend();
  const metrics = new Metrics();
  const health = new HealthTracker(60_000);
  const cleared: unknown[] = [];
  const agent = new Agent({
    ctx: defaultNodeContext({ nodeName: 'n1' }), source, backend, metrics, health, logger: pino({ level: 'silent' }),
    minSyncPeriodMs: 20, syncPeriodMs: 60_000, conntrack: { clear: async (f) => void cleared.push(f) },
  });
  return { source, backend, metrics, health, agent, cleared };
}

describe('Agent', () => {
  it('programs nothing before the source is synced, then a full sync, then partial syncs of what changed', async () => {
    const { source, backend, agent, health, cleared } = setup([{ type: 'service-upsert', service: service('dns', '10.96.0.10') }]);
    await agent.start();
    await vi.waitFor(() => expect(backend.calls).toHaveLength(1));
    expect(backend.calls[0]).toMatchObject({ full: true, ports: ['default/dns:'] });
    expect(health.report().healthy).toBe(true);

    source.sink?.([{ type: 'slice-upsert', slice: slice('dns', ['10.244.1.2']) }]);
    await vi.waitFor(() => expect(backend.calls).toHaveLength(2));
    expect(backend.calls[1]?.full).toBe(false);
    expect([...(backend.calls[1]?.changes?.IPv4 ?? [])]).toEqual(['default/dns:']);
    // A UDP service that got its first endpoint: its REJECT-era conntrack entries must go.
    await vi.waitFor(() => expect(cleared).toHaveLength(1));
    await agent.stop();
  });

  it('shows failing stale-flow cleanups in /healthz and a metric without failing syncs, until they succeed again', async () => {
    const source = new FakeSource([{ type: 'service-upsert', service: service('dns', '10.96.0.10') }]);
    const backend = new RecordingBackend();
    const metrics = new Metrics();
    const health = new HealthTracker(60_000);
    let failing = true;
    let attempts = 0;
    const conntrack = {
      clear: async () => {
        attempts++;
        if (failing) throw new ConntrackCleanupError([new CommandNotFoundError('conntrack')], 2);
      },
    };
    const agent = new Agent({ ctx: defaultNodeContext({ nodeName: 'n1' }), source, backend, metrics, health, conntrack, logger: pino({ level: 'silent' }), minSyncPeriodMs: 20, syncPeriodMs: 60_000 });
    await agent.start();
    await vi.waitFor(() => expect(backend.calls).toHaveLength(1));
    for (const [i, ips] of [['10.244.1.2'], [], ['10.244.1.3']].entries()) {
      source.sink?.([{ type: 'slice-upsert', slice: slice('dns', ips) }]);
      await vi.waitFor(() => expect(attempts).toBe(i + 1));
    }
    const report = health.report();
    expect(report.healthy).toBe(true);
    expect(report.body['conntrack']).toMatchObject({ healthy: false, consecutiveFailures: 3, code: 'SVCPLANE_CONNTRACK_CLEANUP', toolMissing: true });
    expect(await metrics.registry.getSingleMetricAsString('svcplane_conntrack_cleanup_failures_total')).toMatch(/code="SVCPLANE_COMMAND_NOT_FOUND"} 3$/m);

    failing = false;
    source.sink?.([{ type: 'slice-upsert', slice: slice('dns', []) }]);
    await vi.waitFor(() => expect(attempts).toBe(4));
    expect(health.report().body['conntrack']).toEqual({ healthy: true });
    await agent.stop();
  });

  it('does not start before synced', async () => {
    const source: Source = { start: async (sink) => sink([{ type: 'service-upsert', service: service('a', '10.96.0.1') }]), stop: async () => {}, status: () => ({ healthy: true, detail: '' }) };
    const backend = new RecordingBackend();
    const agent = new Agent({ ctx: defaultNodeContext(), source, backend, metrics: new Metrics(), health: new HealthTracker(1000), logger: pino({ level: 'silent' }), minSyncPeriodMs: 1, syncPeriodMs: 1000 });
    await agent.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.calls).toHaveLength(0);
    await agent.stop();
  });

  it('retries a failed sync as a full sync and counts the restore failure', async () => {
    const { source, backend, agent, metrics } = setup([{ type: 'service-upsert', service: service('dns', '10.96.0.10') }]);
    await agent.start();
    await vi.waitFor(() => expect(backend.calls).toHaveLength(1));
    backend.failNext = true;
    source.sink?.([{ type: 'service-upsert', service: service('web', '10.96.0.11') }]);
    await vi.waitFor(() => expect(backend.calls).toHaveLength(3), { timeout: 5000 });
    expect(backend.calls.map((c) => c.full)).toEqual([true, false, true]);
    expect((await metrics.registry.getSingleMetricAsString('kubeproxy_sync_proxy_rules_iptables_restore_failures_total'))).toMatch(/ 1$/m);
    await agent.stop();
  });

  it('takes its zone and addresses from its own Node object and resyncs in full', async () => {
    const { source, backend, agent } = setup([{ type: 'service-upsert', service: service('dns', '10.96.0.10') }]);
    await agent.start();
    await vi.waitFor(() => expect(backend.calls).toHaveLength(1));
    const node = (name: string, zone: string) => ({ type: 'node-upsert' as const, node: { name, zone, labels: {}, addresses: [{ type: 'InternalIP', address: '192.168.1.7' }, { type: 'Hostname', address: name }] } });
    source.sink?.([node('some-other-node', 'zone-b')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.contexts).toHaveLength(0);
    source.sink?.([node('n1', 'zone-a')]);
    await vi.waitFor(() => expect(backend.calls).toHaveLength(2));
    expect(backend.contexts).toEqual([expect.objectContaining({ nodeName: 'n1', zone: 'zone-a', nodeIPs: ['192.168.1.7'] })]);
    expect(backend.calls[1]?.full).toBe(true);
    await agent.stop();
  });

  it('tells the health tracker when its own Node is being deleted, and when it no longer is', async () => {
    const { source, backend, agent, health } = setup([{ type: 'service-upsert', service: service('dns', '10.96.0.10') }]);
    await agent.start();
    await vi.waitFor(() => expect(backend.calls).toHaveLength(1));
    const node = { name: 'n1', zone: undefined, labels: {}, addresses: [] };
    source.sink?.([{ type: 'node-upsert', node: { ...node, name: 'other', deletionTimestamp: '2026-12-04T09:00:00.000Z' } }]);
    expect(health.publicReport().healthy).toBe(true);
    source.sink?.([{ type: 'node-upsert', node: { ...node, deletionTimestamp: '2026-12-04T09:00:00.000Z' } }]);
    expect(health.publicReport()).toMatchObject({ healthy: false, body: { reason: 'node is being deleted', nodeEligible: false } });
    source.sink?.([{ type: 'node-upsert', node }]);
    expect(health.publicReport().healthy).toBe(true);
    await agent.stop();
  });

  it('counts and skips invalid objects without disturbing the rest', async () => {
    const err = new ValidationError({ kind: 'Service', namespace: 'default', name: 'bad' }, 'spec.ports[0].port', 'must be between 1 and 65535, inclusive');
    const { backend, agent, metrics } = setup([{ type: 'service-upsert', service: service('dns', '10.96.0.10') }, { type: 'invalid', errors: [err] }]);
    await agent.start();
    await vi.waitFor(() => expect(backend.calls).toHaveLength(1));
    expect(backend.calls[0]?.ports).toEqual(['default/dns:']);
    expect(await metrics.registry.getSingleMetricAsString('svcplane_invalid_objects_total')).toContain('kind="Service"} 1');
    await agent.stop();
  });
});
