// Human units for the report: three significant digits, trailing zeros dropped, the unit
// stepped up as soon as the rounded value reaches the next one (999.7 ms prints as 1 s).

/** Three significant digits (two decimals at most, below 10), no exponent, no trailing zeros: 6.4, 12.3, 950. */
export function sig3(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const decimals = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const text = value.toFixed(decimals);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

interface Unit {
  readonly suffix: string;
  /** how many base units one of this unit is */
  readonly size: number;
}

function withUnits(value: number, units: readonly Unit[]): string {
  for (let i = units.length - 1; i >= 0; i--) {
    const unit = units[i] as Unit;
    // Round first, so that a value just under the next unit does not print as "1000 ms".
    if (i === 0 || Math.abs(Number(sig3(value / unit.size))) >= 1) {
      return `${sig3(value / unit.size)}${unit.suffix}`;
    }
  }
  return String(value);
}

const TIME_MS: readonly Unit[] = [
  { suffix: ' µs', size: 1e-3 },
  { suffix: ' ms', size: 1 },
  { suffix: ' s', size: 1000 },
];

/** A duration given in milliseconds: 850 µs, 12.3 ms, 6.4 s. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0 ms';
  return withUnits(ms, TIME_MS);
}

/** A duration given in microseconds: 85 µs, 1.2 ms. */
export function formatMicros(us: number): string {
  if (us === 0) return '0 µs';
  return withUnits(us / 1000, TIME_MS);
}

const COUNT: readonly Unit[] = [
  { suffix: '', size: 1 },
  { suffix: 'k', size: 1e3 },
  { suffix: 'M', size: 1e6 },
  { suffix: 'G', size: 1e9 },
];

/** A count: 950, 12.3k, 1.5M. */
export function formatCount(n: number): string {
  return withUnits(n, COUNT);
}

const BYTES: readonly Unit[] = [
  { suffix: ' B', size: 1 },
  { suffix: ' kB', size: 1e3 },
  { suffix: ' MB', size: 1e6 },
  { suffix: ' GB', size: 1e9 },
];

/** A size in bytes, SI units: 512 B, 5.2 MB. */
export function formatBytes(n: number): string {
  return withUnits(n, BYTES);
}

/** A ratio as a whole percentage: 0.412 -> 41%. */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}
