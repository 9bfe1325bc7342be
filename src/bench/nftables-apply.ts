// Applied-sync benchmark of the nftables mode: real `nft -f -` in a scratch network
// namespace. Per size: the first full sync (plan, render and apply timed apart), a
// second full sync over the existing table (read-back included), then a one-endpoint
// partial sync at the largest size.
import { runChecked } from '../kernel/exec.js';
import { Nft } from '../kernel/nft.js';
import { NftablesBackend } from '../backends/nftables/nftables-backend.js';
import { fullTransaction } from '../backends/nftables/full-transaction.js';
import { planFull } from '../backends/nftables/planner.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ObjectStore } from '../state/object-store.js';
import type { DesiredState } from '../state/types.js';
import { syntheticEvents, syntheticSlice } from './synthetic.js';

export interface NftApplyRow {
  readonly services: number;
  readonly planMs: number;
  readonly renderMs: number;
  readonly applyMs: number;
  readonly scriptBytes: number;
  readonly resyncMs: number;
}

export interface NftApplyResult {
  readonly full: readonly NftApplyRow[];
  readonly partial: { readonly services: number; readonly syncMs: number; readonly scriptBytes: number; readonly lines: number };
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

function desired(store: ObjectStore): DesiredState {
  return new DesiredStateBuilder(ctx).update(store, 'all').state;
}

async function run(services: number, endpoints: number, ns: string, partialToo: boolean): Promise<{ row: NftApplyRow; partial?: NftApplyResult['partial'] }> {
  const store = new ObjectStore();
  store.apply(syntheticEvents(services, endpoints));
  const state = desired(store);
  const nft = new Nft({ netns: ns, timeoutMs: 600_000 });
  const t0 = performance.now();
  const memo = planFull(state.IPv4, { family: 'IPv4', ctx });
  const t1 = performance.now();
  const { script } = fullTransaction(memo, undefined);
  const t2 = performance.now();
  await nft.apply(script);
  const t3 = performance.now();
  const backend = new NftablesBackend({ ctx, nft });
  await backend.sync(state);
  const resyncMs = performance.now() - t3;
  const row = { services, planMs: t1 - t0, renderMs: t2 - t1, applyMs: t3 - t2, scriptBytes: script.length, resyncMs };
  if (!partialToo) return { row };
  const victim = Math.floor(services / 2);
  store.apply([{ type: 'slice-upsert', slice: syntheticSlice(victim, endpoints, 1) }]);
  const next = desired(store);
  const changed = [...next.IPv4.keys()].filter((k) => next.IPv4.get(k) !== state.IPv4.get(k));
  const t4 = performance.now();
  const out = await backend.sync(next, { IPv4: new Set(changed), IPv6: new Set(), serviceChanges: 0, endpointChanges: 1 });
  const syncMs = performance.now() - t4;
  return { row, partial: { services, syncMs, scriptBytes: out.sent['nftBytes'] ?? 0, lines: out.sent['nftLines'] ?? 0 } };
}

export async function runNftablesApplyBench(sizes: readonly number[], endpoints: number): Promise<NftApplyResult> {
  const full: NftApplyRow[] = [];
  let partial: NftApplyResult['partial'] | undefined;
  const largest = Math.max(...sizes);
  for (const n of sizes) {
    const r = await withNetns(`svcp-bench-nft-${process.pid}-${n}`, (ns) => run(n, endpoints, ns, n === largest));
    full.push(r.row);
    partial = r.partial ?? partial;
    console.log(`nftables full sync: ${n} services x ${endpoints} endpoints: plan ${r.row.planMs.toFixed(0)} ms, render ${r.row.renderMs.toFixed(0)} ms, nft -f ${r.row.applyMs.toFixed(0)} ms (${(r.row.scriptBytes / 1e6).toFixed(1)} MB); full re-sync over it (read-back included) ${r.row.resyncMs.toFixed(0)} ms`);
  }
  if (partial === undefined) throw new Error('no partial sync measured');
  console.log(`nftables one-endpoint change at ${partial.services} services: ${partial.syncMs.toFixed(1)} ms (plan + nft -f; ${partial.lines} lines, ${partial.scriptBytes} bytes)`);
  return { full, partial };
}

// `node dist/bench/nftables-apply.js [sizes...]` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  await runNftablesApplyBench(sizes.length > 0 ? sizes : [1000, 10_000], 10);
}
