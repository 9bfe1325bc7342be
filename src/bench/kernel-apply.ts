// Applied-sync benchmark of any proxy mode, through the mode's real backend in a scratch
// network namespace: N services x M endpoints programmed from empty, then at the largest N
// one endpoint change and one new service, each state rebuilt incrementally and synced
// partially, as the agent does. IPVS runs where the kernel has it (inside the project's VM:
// `make bench` boots it); the eBPF mode gets a throwaway cgroup and pin root.
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { releaseHeap } from '../agent/heap-release.js';
import { createBackend } from '../agent/modes.js';
import type { ProxyMode } from '../agent/config.js';
import { runChecked } from '../kernel/exec.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ObjectStore } from '../state/object-store.js';
import { syntheticEvents, syntheticService, syntheticSlice } from './synthetic.js';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EbpfSettings } from '../agent/modes.js';
import type { ProxyBackend, SyncOutcome } from '../backends/backend.js';
import { cgroup2Root } from '../kernel/cgroup.js';
import type { SourceEvent } from '../sources/source.js';
import type { DesiredState } from '../state/types.js';

export interface KernelApplyRow {
  readonly mode: string;
  readonly services: number;
  readonly endpoints: number;
  /** Full sync from an empty kernel. */
  readonly fullMs: number;
  readonly fullSent: Readonly<Record<string, number>>;
  /** RSS once the full sync's garbage is collected: what the agent holds between syncs (steadyRss). */
  readonly steadyRssMB?: number;
  /**
   * One service's endpoints replaced, the state rebuilt incrementally and synced: the median
   * of PARTIAL_SAMPLES such changes (each sample is in `changeSamplesMs`, the first one included:
   * it pays the garbage collection of the full sync).
   */
  readonly changeMs?: number;
  readonly changeSamplesMs?: readonly number[];
  readonly changeSent?: Readonly<Record<string, number>>;
  /** One new service (with its endpoints) added: the median of PARTIAL_SAMPLES. */
  readonly addMs?: number;
  readonly addSamplesMs?: readonly number[];
  readonly addSent?: Readonly<Record<string, number>>;
}

/** Partial syncs measured per kind at the largest size. */
const PARTIAL_SAMPLES = 5;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const ctx = defaultNodeContext({ nodeName: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.128.0.0/9'] });

export async function withNetns<T>(name: string, fn: (ns: string) => Promise<T>): Promise<T> {
  await runChecked('ip', ['netns', 'add', name]);
  try {
    return await fn(name);
  } finally {
    await runChecked('ip', ['netns', 'del', name]);
  }
}

/** A cgroup and a pin root of the benchmark's own for the eBPF mode, removed afterwards. */
export async function withEbpfScratch<T>(fn: (ebpf: EbpfSettings | undefined) => Promise<T>, mode: ProxyMode): Promise<T> {
  if (mode !== 'ebpf') return fn(undefined);
  const root = cgroup2Root();
  if (root === undefined) throw new Error('bench: eBPF mode needs a cgroup2 hierarchy');
  const cgroupPath = join(root, `svcp-bench-${process.pid}`);
  mkdirSync(cgroupPath, { recursive: true });
  try {
    return await fn({ cgroupPath, pinRoot: `/sys/fs/bpf/svcp-bench-${process.pid}`, interfaces: [] });
  } finally {
    rmdirSync(cgroupPath);
  }
}

async function measure(mode: ProxyMode, services: number, endpoints: number, withChange: boolean): Promise<KernelApplyRow> {
  // The pid keeps two benches on one machine (several sessions) out of each other's namespace.
  return withNetns(`svcp-bench-${mode}-${services}-${process.pid}`, (netns) => withEbpfScratch(async (ebpf) => {
    const store = new ObjectStore();
    store.apply(syntheticEvents(services, endpoints));
    const builder = new DesiredStateBuilder(ctx);
    const { state } = builder.update(store, 'all');
    const backend = await createBackend(mode, { ctx, logger: pino({ level: 'silent' }), netns, ...(ebpf ? { ebpf } : {}) });
    try {
      return await timeSyncs(backend, store, builder, state, { mode, services, endpoints, withChange });
    } finally {
      if (mode === 'ebpf') await backend.cleanup();
    }
  }, mode));
}

/**
 * RSS once the agent has done what it does after a full sync (heap-release.ts: the process
 * runs with --expose-gc, as bin/svcplane runs the agent), and the system has had a moment.
 */
async function steadyRss(): Promise<number | undefined> {
  if (!releaseHeap()) return undefined;
  await new Promise((resolve) => setTimeout(resolve, 200));
  return process.memoryUsage.rss() / 1048576;
}

async function timeSyncs(
  backend: ProxyBackend, store: ObjectStore, builder: DesiredStateBuilder, state: DesiredState,
  { mode, services, endpoints, withChange }: { mode: ProxyMode; services: number; endpoints: number; withChange: boolean },
): Promise<KernelApplyRow> {
  const t0 = performance.now();
  const full = await backend.sync(state);
  const fullMs = performance.now() - t0;
  const steadyRssMB = await steadyRss();
  if (!withChange) return { mode, services, endpoints, fullMs, fullSent: full.sent, steadyRssMB };

  const partialSync = async (events: SourceEvent[]): Promise<[number, SyncOutcome]> => {
    const t = performance.now();
    const update = builder.updateFrom(store, store.apply(events));
    const outcome = await backend.sync(update.state, update.changes);
    return [performance.now() - t, outcome];
  };
  const changeSamplesMs: number[] = [];
  const addSamplesMs: number[] = [];
  let change: SyncOutcome | undefined;
  let add: SyncOutcome | undefined;
  for (let i = 0; i < PARTIAL_SAMPLES; i++) {
    const victim = Math.floor(services / 2) + i;
    const [ms, outcome] = await partialSync([{ type: 'slice-upsert', slice: syntheticSlice(victim, endpoints, 1) }]);
    changeSamplesMs.push(ms);
    change ??= outcome;
  }
  for (let i = 0; i < PARTIAL_SAMPLES; i++) {
    const [ms, outcome] = await partialSync([{ type: 'service-upsert', service: syntheticService(services + i) }, { type: 'slice-upsert', slice: syntheticSlice(services + i, endpoints) }]);
    addSamplesMs.push(ms);
    add ??= outcome;
  }
  return {
    mode, services, endpoints, fullMs, fullSent: full.sent, steadyRssMB,
    changeMs: median(changeSamplesMs), changeSamplesMs, changeSent: change?.sent ?? {},
    addMs: median(addSamplesMs), addSamplesMs, addSent: add?.sent ?? {},
  };
}

function describe(r: KernelApplyRow): string {
  const sent = (s: Readonly<Record<string, number>>): string => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ');
  const samples = (xs: readonly number[] | undefined): string => (xs === undefined ? '' : `, samples ${xs.map((x) => x.toFixed(1)).join('/')}`);
  const change = r.changeMs === undefined ? '' : `; one endpoint change median ${r.changeMs.toFixed(1)} ms (${sent(r.changeSent ?? {})}${samples(r.changeSamplesMs)})`;
  const add = r.addMs === undefined ? '' : `; one new service median ${r.addMs.toFixed(1)} ms (${sent(r.addSent ?? {})}${samples(r.addSamplesMs)})`;
  const where = process.env.SVCPLANE_IN_VM === '1' ? ' in VM' : '';
  const steady = r.steadyRssMB === undefined ? '' : `, then ${r.steadyRssMB.toFixed(0)} MB RSS`;
  return `${r.mode}${where}: ${r.services} services x ${r.endpoints}: full sync from empty ${r.fullMs.toFixed(0)} ms (${sent(r.fullSent)})${steady}${change}${add}`;
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
  // The process's peak memory: run one mode and one size per process to read it per measurement.
  console.log(`RESULT ${JSON.stringify({ rows, maxRssMB: process.resourceUsage().maxRSS / 1024 })}`);
}
