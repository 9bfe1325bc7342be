// wrk's report, parsed: requests/s, latency percentiles (--latency), errors.
import { runCommand } from '../kernel/exec.js';

export interface WrkResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  readonly failed: number;
}

function ms(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

export function parseWrk(text: string): WrkResult {
  const percentile = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([0-9.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m?.[1] === undefined || m[2] === undefined ? NaN : ms(m[1], m[2]);
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket === null ? 0 : socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return {
    requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN),
    requestsPerSecond: Number(/Requests\/sec:\s+([0-9.]+)/.exec(text)?.[1] ?? NaN),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    failed: socketErrors + non2xx,
  };
}

export async function wrk(netns: string, url: string, opts: { durationS: number; connections: number; headers: readonly string[] }): Promise<WrkResult> {
  const args = ['-t', '2', '-c', String(opts.connections), '-d', `${opts.durationS}s`, '--latency', ...opts.headers.flatMap((h) => ['-H', h]), url];
  const r = await runCommand('wrk', args, { netns, timeoutMs: (opts.durationS + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk failed: ${r.stderr.trim()}`);
  return parseWrk(r.stdout);
}
