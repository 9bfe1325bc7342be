import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatMicros, formatMs, formatPercent, sig3 } from './units.js';

describe('units', () => {
  it('keeps three significant digits without trailing zeros', () => {
    expect(sig3(6.4)).toBe('6.4');
    expect(sig3(12.345)).toBe('12.3');
    expect(sig3(950.4)).toBe('950');
    expect(sig3(3)).toBe('3');
    expect(sig3(0.125)).toBe('0.13');
  });
  it('steps durations through µs, ms and s', () => {
    expect(formatMs(0.85)).toBe('850 µs');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(6400)).toBe('6.4 s');
    expect(formatMs(999.7)).toBe('1 s'); // rounds up into the next unit
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMicros(85)).toBe('85 µs');
    expect(formatMicros(1234)).toBe('1.23 ms');
  });
  it('uses k and M for counts and SI units for bytes', () => {
    expect(formatCount(950)).toBe('950');
    expect(formatCount(12_345)).toBe('12.3k');
    expect(formatCount(10_000)).toBe('10k');
    expect(formatCount(1_500_000)).toBe('1.5M');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5_200_000)).toBe('5.2 MB');
    expect(formatPercent(0.412)).toBe('41%');
  });
});
