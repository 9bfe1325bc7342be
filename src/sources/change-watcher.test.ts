import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChangeWatcher, type ChangeWatcherOptions } from './change-watcher.js';

const logger = { warn: () => undefined, debug: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ChangeWatcher', () => {
  let watcher: ChangeWatcher | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  function create(options: Partial<ChangeWatcherOptions>): ChangeWatcher {
    watcher = new ChangeWatcher({
      debounceMs: 20,
      pollIntervalMs: 10,
      directories: async () => [],
      changedOnDisk: async () => false,
      reload: async () => undefined,
      logger,
      ...options,
    });
    return watcher;
  }

  it('falls back to polling: one reload per detected change', async () => {
    let dirty = true;
    const reload = vi.fn(async () => {
      dirty = false;
    });
    await create({ changedOnDisk: async () => dirty, reload }).start();
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    await sleep(100); // ten more polls
    expect(reload).toHaveBeenCalledTimes(1);
    dirty = true;
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(2));
  });

  it('reloads once for a file event, and the poller does not add a second', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'svcp-watch-'));
    dirs.push(dir);
    let dirty = false;
    const reload = vi.fn(async () => {
      dirty = false;
    });
    await create({ directories: async () => [dir], changedOnDisk: async () => dirty, reload, debounceMs: 50 }).start();
    dirty = true; // what the poller would see, as the watcher does
    await writeFile(path.join(dir, 'a.yaml'), 'kind: Service\n');
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    await sleep(150);
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('serializes reloads: a trigger during a reload runs one more afterwards', async () => {
    let release: () => void = () => undefined;
    let active = 0;
    let maxActive = 0;
    const reload = vi.fn(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      active--;
    });
    const w = create({ reload, pollIntervalMs: 60_000 });
    await w.start();
    w.trigger();
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    w.trigger();
    w.trigger();
    await sleep(60);
    expect(reload).toHaveBeenCalledTimes(1);
    release();
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(2));
    release();
    await sleep(60);
    expect(reload).toHaveBeenCalledTimes(2);
    expect(maxActive).toBe(1);
  });

  it('stop() waits for a running reload and ignores later triggers', async () => {
    let finished = false;
    const reload = vi.fn(async () => {
      await sleep(50);
      finished = true;
    });
    const w = create({ reload, pollIntervalMs: 60_000 });
    await w.start();
    w.trigger();
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    await w.stop();
    expect(finished).toBe(true);
    w.trigger();
    await sleep(60);
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('hands the reload the paths fs.watch named, and everything after a poll or an unnamed trigger', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'svcp-watch-'));
    dirs.push(dir);
    let dirty = false;
    const seen: (string[] | undefined)[] = [];
    const reload = vi.fn(async (paths: ReadonlySet<string> | undefined) => {
      seen.push(paths === undefined ? undefined : [...paths].sort());
      dirty = false;
    });
    const w = create({ directories: async () => [dir], changedOnDisk: async () => dirty, reload, debounceMs: 50, pollIntervalMs: 30 });
    await w.start();
    await writeFile(path.join(dir, 'a.yaml'), 'kind: Service\n');
    await writeFile(path.join(dir, 'b.yaml'), 'kind: Service\n');
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    expect(seen[0]).toEqual([path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')]);

    dirty = true;
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(2));
    expect(seen[1]).toBeUndefined();

    w.trigger(path.join(dir, 'c.yaml'));
    w.trigger();
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(3));
    expect(seen[2]).toBeUndefined();
  });
});

describe('ChangeWatcher under a stream of triggers', () => {
  it('reloads within maxDelayMs even when triggers keep restarting the debounce', async () => {
    const reloadedAt: number[] = [];
    const w = new ChangeWatcher({
      debounceMs: 50, maxDelayMs: 200, pollIntervalMs: 60_000, directories: async () => [], changedOnDisk: async () => false,
      reload: async () => void reloadedAt.push(performance.now()), logger,
    });
    await w.start();
    const t0 = performance.now();
    const timer = setInterval(() => w.trigger('/x/a.yaml'), 10);
    try {
      await vi.waitFor(() => expect(reloadedAt.length).toBeGreaterThanOrEqual(2), { timeout: 2000 });
    } finally {
      clearInterval(timer);
      await w.stop();
    }
    expect((reloadedAt[0] ?? Infinity) - t0).toBeLessThan(400);
  });

  it('drops events for paths that are not relevant', async () => {
    const reload = vi.fn(async () => undefined);
    const w = new ChangeWatcher({
      debounceMs: 10, pollIntervalMs: 60_000, directories: async () => [], changedOnDisk: async () => false,
      reload, logger, relevant: (p) => p.endsWith('.yaml'),
    });
    await w.start();
    w.trigger('/x/app.log');
    await sleep(60);
    expect(reload).not.toHaveBeenCalled();
    w.trigger('/x/a.yaml');
    await vi.waitFor(() => expect(reload).toHaveBeenCalledWith(new Set(['/x/a.yaml'])));
    await w.stop();
  });
});
