// Runs dnsperf and reads its report: queries per second, and per-query latencies (-v) for
// percentiles, which dnsperf itself does not print.
import { runCommand } from '../kernel/exec.js';

export interface PerfResult {
  readonly qps: number;
  readonly sent: number;
  readonly lost: number;
  readonly avgMs: number;
  /** Per-query latencies in ms (only with `verbose`). */
  readonly latenciesMs: number[];
  readonly rcodes: string;
}

export interface PerfOptions {
  readonly netns: string;
  readonly server: string;
  readonly port: number;
  readonly dataFile: string;
  readonly seconds: number;
  /** Queries per second to offer; undefined: as fast as the server answers. */
  readonly rate?: number;
  readonly verbose?: boolean;
  /** dnsperf's clients (`-c`): each is a socket, a flow the kernel's SO_REUSEPORT hash puts on one server thread. */
  readonly clients?: number;
}

/**
 * Enough flows that SO_REUSEPORT spreads them over two server threads (4 flows over 2 threads
 * often split 3:1), the same for every server measured; not many more: with 32, dnsperf's single
 * thread held Knot to 15-21k q/s where 4 reached 31-50k in alternating runs on this machine.
 */
export const DNSPERF_CLIENTS = 8;

export async function dnsperf(o: PerfOptions): Promise<PerfResult> {
  const args = ['-s', o.server, '-p', String(o.port), '-d', o.dataFile, '-l', String(o.seconds), '-c', String(o.clients ?? DNSPERF_CLIENTS), '-q', '200', '-t', '2'];
  if (o.rate !== undefined) args.push('-Q', String(Math.max(1, Math.round(o.rate))));
  if (o.verbose) args.push('-v');
  const r = await runCommand('dnsperf', args, { netns: o.netns, timeoutMs: (o.seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`dnsperf failed (${r.code}): ${r.stderr.trim() || r.stdout.slice(-500)}`);
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  const latenciesMs: number[] = [];
  if (o.verbose) {
    for (const line of r.stdout.split('\n')) {
      const m = /^> (\S+) \S+ \S+ ([0-9.]+)$/.exec(line);
      if (m && m[1] !== 'T') latenciesMs.push(Number(m[2]) * 1000);
    }
  }
  return {
    qps: num(/Queries per second:\s+([0-9.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    avgMs: num(/Average Latency \(s\):\s+([0-9.]+)/) * 1000,
    latenciesMs,
    rcodes: /Response codes:\s+(.*)/.exec(r.stdout)?.[1]?.trim() ?? '',
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
