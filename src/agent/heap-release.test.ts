import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HEAP_RELEASE_DELAY_MS, HeapReleaser, releaseHeap } from './heap-release.js';
import { realTimers } from './sync-runner.js';

describe('HeapReleaser', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('releases once, HEAP_RELEASE_DELAY_MS after the last of a burst of full syncs', () => {
    vi.useFakeTimers();
    const release = vi.fn(() => true);
    const r = new HeapReleaser(realTimers, release);
    r.afterFullSync();
    vi.advanceTimersByTime(HEAP_RELEASE_DELAY_MS - 1);
    r.afterFullSync();
    vi.advanceTimersByTime(HEAP_RELEASE_DELAY_MS - 1);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(release).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * HEAP_RELEASE_DELAY_MS);
    expect(release).toHaveBeenCalledTimes(1);
    r.afterFullSync();
    vi.advanceTimersByTime(HEAP_RELEASE_DELAY_MS);
    expect(release).toHaveBeenCalledTimes(2);
  });

  it('does nothing once stopped', () => {
    vi.useFakeTimers();
    const release = vi.fn(() => true);
    const r = new HeapReleaser(realTimers, release);
    r.afterFullSync();
    r.stop();
    vi.advanceTimersByTime(10 * HEAP_RELEASE_DELAY_MS);
    expect(release).not.toHaveBeenCalled();
  });
});

describe('releaseHeap', () => {
  it('needs --expose-gc, and with it runs a last-resort collection', () => {
    expect(releaseHeap()).toBe(false); // vitest's workers run without the flag
    const module = fileURLToPath(new URL('./heap-release.ts', import.meta.url));
    // A child with the flag, its gc wrapped to record the options it is given.
    const script = `
      const seen = []; const real = globalThis.gc; globalThis.gc = (o) => { seen.push(o); return real(o); };
      const { releaseHeap } = await import(${JSON.stringify(module)});
      console.log(JSON.stringify({ released: releaseHeap(), seen }));`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ released: true, seen: [{ type: 'major', execution: 'sync', flavor: 'last-resort' }] });
  });
});
