import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { ProxyBackend, SyncOutcome } from '../backends/backend.js';
import type { Source, SourceEvent, SourceSink } from '../sources/source.js';
import { defaultNodeContext } from '../state/node-context.js';
import type { DesiredState, StateChanges } from '../state/types.js';
import { Agent } from './agent.js';
import { HealthTracker } from './health.js';
import { Metrics } from './metrics.js';
import type { SyncReason } from './sync-runner.js';

class OneShotSource implements Source {
  sink: SourceSink | undefined;
  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    sink([{ type: 'synced' } satisfies SourceEvent]);
  }
  async stop(): Promise<void> {}
  status() {
    return { healthy: true, detail: 'fake' };
  }
}

/** A backend whose drift check answers what the test says. */
class DriftingBackend implements ProxyBackend {
  readonly mode = 'fake';
  syncs: Array<'full' | 'partial'> = [];
  checks = 0;
  drift: readonly string[] = [];
  checkFails = false;
  async sync(_state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    this.syncs.push(changes ? 'partial' : 'full');
    return { kind: changes ? 'partial' : 'full', ruleCounts: {}, sent: {} };
  }
  async checkDrift(): Promise<readonly string[]> {
    this.checks++;
    if (this.checkFails) throw new Error('iptables-save: failed');
    return this.drift;
  }
  async cleanup(): Promise<void> {}
  setContext(): void {}
}

function setup(backend: ProxyBackend, fullSyncPeriodMs?: number) {
  const metrics = new Metrics();
  const reasons: Array<{ reason: SyncReason; outcome: boolean }> = [];
  const agent = new Agent({
    ctx: defaultNodeContext({ nodeName: 'n1' }), source: new OneShotSource(), backend, metrics, health: new HealthTracker(60_000), logger: pino({ level: 'silent' }),
    minSyncPeriodMs: 5, syncPeriodMs: 30, ...(fullSyncPeriodMs === undefined ? {} : { fullSyncPeriodMs }),
    onSync: ({ reason, outcome }) => void reasons.push({ reason, outcome: outcome !== undefined }),
  });
  return { agent, metrics, reasons };
}

describe('Agent periodic syncs', () => {
  it('skip the full rewrite while the drift check finds nothing, and rewrite on the first difference or failed check', async () => {
    const backend = new DriftingBackend();
    const { agent, metrics, reasons } = setup(backend);
    await agent.start();
    await vi.waitFor(() => expect(backend.checks).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    // The first sync is full without a check (nothing committed); the periodic ones only checked.
    expect(backend.syncs).toEqual(['full']);
    expect(reasons.filter((r) => r.reason === 'periodic' && r.outcome)).toHaveLength(1);
    expect(await metrics.registry.getSingleMetricAsString('svcplane_drift_checks_total')).toMatch(/result="clean"} [3-9]/);

    backend.drift = ['nat: chains missing: KUBE-SVC-X'];
    await vi.waitFor(() => expect(backend.syncs.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(backend.syncs[1]).toBe('full');
    backend.drift = [];
    backend.checkFails = true;
    const before = backend.syncs.length;
    await vi.waitFor(() => expect(backend.syncs.length).toBeGreaterThan(before), { timeout: 5000 });
    expect(backend.syncs.at(-1)).toBe('full');
    await agent.stop();
    const counted = await metrics.registry.getSingleMetricAsString('svcplane_drift_checks_total');
    expect(counted).toMatch(/result="drift"} [1-9]/);
    expect(counted).toMatch(/result="error"} [1-9]/);
  });

  it('still rewrite everything once per full-sync period when nothing drifted', async () => {
    const backend = new DriftingBackend();
    const { agent } = setup(backend, 100);
    await agent.start();
    await vi.waitFor(() => expect(backend.syncs.length).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    await agent.stop();
    expect(backend.syncs.every((s) => s === 'full')).toBe(true);
    // Between the full syncs, periodic syncs only checked.
    expect(backend.checks).toBeGreaterThan(0);
  });

  it('are all full for a backend without a drift check', async () => {
    const backend = new DriftingBackend();
    const plain: ProxyBackend = { mode: 'plain', sync: (s, c) => backend.sync(s, c), cleanup: async () => {}, setContext: () => {} };
    const { agent } = setup(plain);
    await agent.start();
    await vi.waitFor(() => expect(backend.syncs.length).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    await agent.stop();
    expect(backend.syncs.every((s) => s === 'full')).toBe(true);
  });
});
