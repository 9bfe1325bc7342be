// Idle cost of the agent (issue 20, item 1): the real Agent loop over N synthetic services in a
// scratch network namespace, its periodic syncs at the agent's period, and nothing changing. CPU
// is measured over a window after the first full sync: the process's own (user + system) plus
// its children's (iptables-save, nft), which the kernel adds to cutime/cstime when they are reaped.
// Each run is a fresh process (as kernel-apply.ts), so no other measurement's heap is in it.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Agent } from '../agent/agent.js';
import type { ProxyMode } from '../agent/config.js';
import { HealthTracker } from '../agent/health.js';
import { Metrics } from '../agent/metrics.js';
import { createBackend } from '../agent/modes.js';
import { runChecked } from '../kernel/exec.js';
import type { Source, SourceSink } from '../sources/source.js';
import { defaultNodeContext } from '../state/node-context.js';
import { agentNodeFlags } from './control-plane.js';
import { syntheticEvents } from './synthetic.js';
import { withEbpfScratch, withNetns } from './kernel-apply.js';
import { renderTable } from './report/text-table.js';

export interface IdleResult {
  readonly mode: string;
  readonly services: number;
  readonly endpoints: number;
  readonly windowMs: number;
  readonly syncPeriodMs: number;
  /** CPU seconds (user + system, the agent and the commands it ran) over the window. */
  readonly cpuSeconds: number;
  /** cpuSeconds as a share of one core over the window. */
  readonly percentOfCore: number;
  readonly periodicSyncs: number;
  /** Of those, how many rewrote everything (drift found, or a mode without a drift check). */
  readonly fullSyncs: number;
  /** The first full sync, for scale (the hourly full sync costs about this). */
  readonly firstSyncMs: number;
  /** Where it ran when not on this machine ('VM (emulated)': IPVS). */
  readonly where?: string;
}

const IDLE_ENTRY = fileURLToPath(import.meta.url);
/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture node runs on). */
const USER_HZ = 100;

/** CPU seconds of the children this process has waited for (utime + stime of /proc/self/stat fields 16, 17). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): cutime is field 16, cstime field 17.
  return (Number(fields[13]) + Number(fields[14])) / USER_HZ;
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6 + childrenCpuSeconds();
}

const ctx = defaultNodeContext({ nodeName: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.128.0.0/9'] });

async function measureIdle(mode: ProxyMode, services: number, endpoints: number, windowMs: number, syncPeriodMs: number): Promise<IdleResult> {
  return withNetns(`svcp-idle-${mode}-${services}-${process.pid}`, (netns) => withEbpfScratch(async (ebpf) => {
    const backend = await createBackend(mode, { ctx, logger: pino({ level: 'silent' }), netns, ...(ebpf ? { ebpf } : {}) });
    const source: Source = {
      start: async (sink: SourceSink) => sink([...syntheticEvents(services, endpoints), { type: 'synced' }]),
      stop: async () => {},
      status: () => ({ healthy: true, detail: 'synthetic' }),
    };
    let window: { start: number; periodic: number; full: number } | undefined;
    let firstSyncMs = 0;
    let firstSync: () => void = () => {};
    const synced = new Promise<void>((resolve) => (firstSync = resolve));
    const agent = new Agent({
      ctx, source, backend, logger: pino({ level: process.env.SVCP_IDLE_LOG ?? 'silent' }), metrics: new Metrics(), health: new HealthTracker(2 * syncPeriodMs + 1000),
      minSyncPeriodMs: 1000, syncPeriodMs,
      onSync: ({ reason, outcome, durationMs }) => {
        if (window === undefined) {
          firstSyncMs = durationMs;
          firstSync();
        } else if (reason === 'periodic') {
          window.periodic++;
          if (outcome?.kind === 'full') window.full++;
        }
      },
    });
    try {
      await agent.start();
      await synced;
      const cpu0 = cpuSeconds();
      window = { start: performance.now(), periodic: 0, full: 0 };
      await new Promise((r) => setTimeout(r, windowMs));
      const cpu = cpuSeconds() - cpu0;
      const elapsed = performance.now() - window.start;
      return {
        mode, services, endpoints, windowMs: Math.round(elapsed), syncPeriodMs, cpuSeconds: cpu, percentOfCore: (100 * cpu) / (elapsed / 1000),
        periodicSyncs: window.periodic, fullSyncs: window.full, firstSyncMs,
      };
    } finally {
      await agent.stop();
      if (mode === 'ebpf') await backend.cleanup();
    }
  }, mode));
}

/** One idle measurement in a fresh process. */
export async function idleRun(mode: ProxyMode, services: number, endpoints: number, windowMs: number, syncPeriodMs = 30_000): Promise<IdleResult> {
  const { stdout } = await runChecked(process.execPath, [...agentNodeFlags(), IDLE_ENTRY, mode, String(services), String(endpoints), String(windowMs), String(syncPeriodMs)], { timeoutMs: windowMs + 1_800_000 });
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`bench: the idle run printed no result:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as IdleResult;
}

export function renderIdleTable(rows: readonly IdleResult[]): string {
  if (rows.length === 0) return '';
  const headers = ['mode', 'services', 'window', 'agent CPU', '% of a core', 'periodic syncs (full)', 'first full sync'];
  const table = renderTable(
    headers.map((header, i) => ({ header, align: i < 2 ? 'left' : 'right' })),
    rows.map((r) => [r.where === undefined ? r.mode : `${r.mode} (${r.where})`, `${r.services} x ${r.endpoints}`, `${(r.windowMs / 1000).toFixed(0)} s`, `${r.cpuSeconds.toFixed(2)} s`, r.percentOfCore.toFixed(2), `${r.periodicSyncs} (${r.fullSyncs})`, `${(r.firstSyncMs / 1000).toFixed(1)} s`]),
  );
  return `\nIdle cost: no changes, sync period ${(rows[0]?.syncPeriodMs ?? 0) / 1000} s (CPU of the agent and the commands it ran)\n${table}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, services, endpoints, windowMs, syncPeriodMs] = process.argv.slice(2);
  const row = await measureIdle(mode as ProxyMode, Number(services), Number(endpoints ?? 10), Number(windowMs ?? 60_000), Number(syncPeriodMs ?? 30_000));
  console.log(`RESULT ${JSON.stringify(row)}`);
}
