// Applied-sync benchmark: real iptables-restore in a scratch network namespace.
// Full syncs at each size (render and restore timed separately), then a one-endpoint
// change at the largest size, end to end: manifest file written -> source -> state ->
// partial plan -> iptables-restore returned.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../agent/agent.js';
import { HealthTracker } from '../agent/health.js';
import { Metrics } from '../agent/metrics.js';
import { IptablesBackend } from '../backends/iptables/iptables-backend.js';
import { planFull } from '../backends/iptables/planner.js';
import { NFT_SERVICES_PER_TRANSACTION } from '../agent/modes.js';
import { runChecked } from '../kernel/exec.js';
import { Iptables, type IptablesVariant } from '../kernel/iptables.js';
import { ManifestSource } from '../sources/manifest-source.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ObjectStore } from '../state/object-store.js';
import { syntheticEvents, syntheticYaml } from './synthetic.js';

export interface ApplyBenchRow {
  readonly services: number;
  readonly renderMs: number;
  readonly restoreMs: number;
  readonly restoreLines: number;
  readonly transactions: number;
}

/** As the agent does (src/agent/modes.ts): nf_tables full syncs are split, legacy ones are not. */
function split(variant: IptablesVariant): { servicesPerTransaction?: number } {
  return variant === 'legacy' ? {} : { servicesPerTransaction: NFT_SERVICES_PER_TRANSACTION };
}

export interface ApplyBenchResult {
  readonly full: readonly ApplyBenchRow[];
  readonly partial: { readonly services: number; readonly endToEndMs: number; readonly syncMs: number; readonly restoreLines: number };
}

const ctx = defaultNodeContext({ nodeName: 'node-0', clusterCIDRs: ['10.128.0.0/9'] });

async function withNetns<T>(name: string, fn: (ns: string) => Promise<T>): Promise<T> {
  await runChecked('ip', ['netns', 'add', name]);
  try {
    return await fn(name);
  } finally {
    await runChecked('ip', ['netns', 'del', name]);
  }
}

async function fullSync(services: number, endpoints: number, ns: string, variant: IptablesVariant): Promise<ApplyBenchRow> {
  const store = new ObjectStore();
  store.apply(syntheticEvents(services, endpoints));
  const { state } = new DesiredStateBuilder(ctx).update(store, 'all');
  const kernel = new Iptables({ family: 'IPv4', netns: ns, variant });
  const t0 = performance.now();
  const plan = planFull(state.IPv4, { family: 'IPv4', ctx }, undefined, split(variant));
  const renderMs = performance.now() - t0;
  const t1 = performance.now();
  for (const t of plan.prelude) await kernel.restore(t, { noflush: true });
  await kernel.restore(plan.restore, { noflush: true });
  const restoreMs = performance.now() - t1;
  const restoreLines = [...plan.prelude, plan.restore].reduce((n, t) => n + t.split('\n').length - 1, 0);
  return { services, renderMs, restoreMs, restoreLines, transactions: plan.prelude.length + 1 };
}

async function partialEndToEnd(services: number, endpoints: number, ns: string, variant: IptablesVariant): Promise<ApplyBenchResult['partial']> {
  const dir = mkdtempSync(join(tmpdir(), 'svcp-bench-'));
  try {
    for (let i = 0; i < services; i++) writeFileSync(join(dir, `svc-${i}.yaml`), syntheticYaml(i, endpoints));
    const source = new ManifestSource({ paths: [dir], debounceMs: 5, pollIntervalMs: 60_000 });
    const syncs: Array<{ at: number; durationMs: number; lines: number }> = [];
    const agent = new Agent({
      ctx, source, backend: new IptablesBackend({ ctx, kernels: { IPv4: new Iptables({ family: 'IPv4', netns: ns, variant }) }, ...split(variant) }),
      logger: pino({ level: 'silent' }), metrics: new Metrics(), health: new HealthTracker(60_000),
      minSyncPeriodMs: 0, syncPeriodMs: 3_600_000,
      onSync: ({ durationMs, outcome }) => syncs.push({ at: performance.now(), durationMs, lines: outcome?.sent.restoreLines ?? 0 }),
    });
    await agent.start();
    while (syncs.length === 0) await new Promise((r) => setTimeout(r, 50));
    const victim = Math.floor(services / 2);
    const t0 = performance.now();
    writeFileSync(join(dir, `svc-${victim}.yaml`), syntheticYaml(victim, endpoints, 1));
    while (syncs.length < 2) await new Promise((r) => setTimeout(r, 1));
    const last = syncs[1] as { at: number; durationMs: number; lines: number };
    await agent.stop();
    return { services, endToEndMs: last.at - t0, syncMs: last.durationMs, restoreLines: last.lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runApplyBench(sizes: readonly number[], endpoints: number, variant: IptablesVariant): Promise<ApplyBenchResult> {
  const full: ApplyBenchRow[] = [];
  const label = `iptables (${variant === 'auto' ? 'system default' : `iptables-${variant}`})`;
  for (const n of sizes) {
    full.push(await withNetns(`svcp-bench-${process.pid}-${n}`, (ns) => fullSync(n, endpoints, ns, variant)));
    const r = full.at(-1) as ApplyBenchRow;
    console.log(`${label} full sync: ${n} services x ${endpoints} endpoints: render ${r.renderMs.toFixed(0)} ms, restore ${r.restoreMs.toFixed(0)} ms (${r.restoreLines} lines in ${r.transactions} transaction${r.transactions === 1 ? '' : 's'}; render is ${((100 * r.renderMs) / r.restoreMs).toFixed(0)}% of restore)`);
  }
  const largest = Math.max(...sizes);
  const partial = await withNetns(`svcp-bench-${process.pid}-p`, (ns) => partialEndToEnd(largest, endpoints, ns, variant));
  console.log(`${label} one-endpoint change at ${largest} services: ${partial.endToEndMs.toFixed(1)} ms end to end (manifest write -> restore returned; the sync itself ${partial.syncMs.toFixed(1)} ms, ${partial.restoreLines} restore lines)`);
  return { full, partial };
}
