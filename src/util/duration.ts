import { SvcplaneError } from './errors.js';

export class DurationError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BAD_DURATION';
}

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration the way kube-proxy's flags and config write them (Go syntax: 200ms, 1s, 1m30s) into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new DurationError(`${what}: invalid duration "${text}" (use e.g. 200ms, 1s, 30s, 1m)`);
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos === 0) throw new DurationError(`${what}: invalid duration "${text}" (use e.g. 200ms, 1s, 30s, 1m)`);
  return total;
}

export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
