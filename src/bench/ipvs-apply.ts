// Applied-sync benchmark of the IPVS mode, on a kernel with IPVS (inside the project's VM:
// `make bench` boots it). From empty: N services x M real servers programmed over netlink,
// plus the iptables companion rules; then one endpoint change at the largest N. The same
// runs for iptables mode in the same VM, so the two can be compared on one (emulated) machine.
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createBackend } from '../agent/modes.js';
import type { ProxyMode } from '../agent/config.js';
import { runChecked } from '../kernel/exec.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ObjectStore } from '../state/object-store.js';
import { syntheticEvents, syntheticSlice } from './synthetic.js';

export interface KernelApplyRow {
  readonly mode: string;
  readonly services: number;
  readonly endpoints: number;
  /** Full sync from an empty kernel. */
  readonly fullMs: number;
  readonly fullSent: Readonly<Record<string, number>>;
  /** One endpoint of one service replaced, the state rebuilt incrementally and synced. */
  readonly changeMs?: number;
  readonly changeSent?: Readonly<Record<string, number>>;
}

const ctx = defaultNodeContext({ nodeName: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.128.0.0/9'] });

async function withNetns<T>(name: string, fn: (ns: string) => Promise<T>): Promise<T> {
  await runChecked('ip', ['netns', 'add', name]);
  try {
    return await fn(name);
  } finally {
    await runChecked('ip', ['netns', 'del', name]);
  }
}

async function measure(mode: ProxyMode, services: number, endpoints: number, withChange: boolean): Promise<KernelApplyRow> {
  return withNetns(`svcp-bench-${mode}-${services}`, async (netns) => {
    const store = new ObjectStore();
    store.apply(syntheticEvents(services, endpoints));
    const builder = new DesiredStateBuilder(ctx);
    const { state } = builder.update(store, 'all');
    const backend = await createBackend(mode, { ctx, logger: pino({ level: 'silent' }), netns });
    const t0 = performance.now();
    const full = await backend.sync(state);
    const fullMs = performance.now() - t0;
    if (!withChange) return { mode, services, endpoints, fullMs, fullSent: full.sent };

    const victim = Math.floor(services / 2);
    const t1 = performance.now();
    const changed = store.apply([{ type: 'slice-upsert', slice: syntheticSlice(victim, endpoints, 1) }]);
    const update = builder.updateFrom(store, changed);
    const partial = await backend.sync(update.state, update.changes);
    const changeMs = performance.now() - t1;
    return { mode, services, endpoints, fullMs, fullSent: full.sent, changeMs, changeSent: partial.sent };
  });
}

function describe(r: KernelApplyRow): string {
  const sent = (s: Readonly<Record<string, number>>): string => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ');
  const change = r.changeMs === undefined ? '' : `; one endpoint change ${r.changeMs.toFixed(1)} ms (${sent(r.changeSent ?? {})})`;
  return `${r.mode} in VM: ${r.services} services x ${r.endpoints}: full sync from empty ${r.fullMs.toFixed(0)} ms (${sent(r.fullSent)})${change}`;
}

/** Runs inside a kernel with IPVS; prints one line per row and the rows as JSON last. */
export async function runKernelApplyBench(modes: readonly ProxyMode[], sizes: readonly number[], endpoints: number): Promise<KernelApplyRow[]> {
  const rows: KernelApplyRow[] = [];
  const largest = Math.max(...sizes);
  for (const mode of modes) {
    for (const n of sizes) {
      const row = await measure(mode, n, endpoints, n === largest);
      rows.push(row);
      console.log(describe(row));
    }
  }
  return rows;
}

function numbers(arg: string | undefined, fallback: number[]): number[] {
  return arg === undefined ? fallback : arg.split(',').map((s) => Number(s));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [modes, sizes, endpoints] = process.argv.slice(2);
  const rows = await runKernelApplyBench((modes ?? 'ipvs').split(',') as ProxyMode[], numbers(sizes, [1000, 10_000]), Number(endpoints ?? 10));
  console.log(`RESULT ${JSON.stringify(rows)}`);
}
