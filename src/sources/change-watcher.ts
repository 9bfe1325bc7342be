// Turns file system activity into debounced, serialized reloads.
//
// Two detectors feed the same debounced trigger: fs.watch on directories
// (fast, but inotify can miss events, e.g. when a watched directory is
// replaced) and a poller comparing cheap stamps. The poller stays quiet while
// a reload is pending or running, and a reload that finds nothing changed
// emits nothing, so the two never double the work that reaches the sink.
//
// The debounce restarts with each change but never past maxDelayMs after the
// first pending one: a directory written to forever (a log file beside the
// manifests) must not postpone a reload forever. Events naming an entry the
// caller does not care about (`relevant`) are dropped before they count.
//
// fs.watch names the entry that changed: those names are handed to the reload,
// so that it can look at just those files. A poll, an event without a name or
// a burst naming too many files asks for a full look instead.
//
// With a write tracker (inotify close events, src/kernel/write-close-watch.ts), a
// change to named files is reloaded as soon as every one was closed by its writer
// or renamed into place (checked settleMs after the last event), and waits, up to
// maxDelayMs, while one is open and being written: no quiet time to guess, and a
// writer pausing mid-file is not read half-way. Changes the tracker knows nothing
// about wait out the quiet time (debounceMs) as before.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** With a write tracker: first look this long after a change (a writer's burst of events). */
export const DEFAULT_SETTLE_MS = 20;

/** Beyond this many named paths in one reload, a full scan is as cheap. */
export const MAX_NAMED_PATHS = 4096;

export interface ChangeWatcherLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What inotify's close events say of files (WriteCloseWatch in src/kernel/). */
export interface WriteTracker {
  watch(dir: string): boolean;
  unwatch(dir: string): void;
  state(paths: Iterable<string>): 'closed' | 'writing' | 'unknown';
  close(): void;
}

export interface ChangeWatcherOptions {
  /** Quiet time after the last change before reloading (changes the write tracker cannot vouch for). */
  readonly debounceMs: number;
  readonly writes?: WriteTracker;
  /** With `writes`: how long after the last change to look whether its files were closed (default 20 ms). */
  readonly settleMs?: number;
  /** Longest wait from the first pending change to its reload (default 5 x debounceMs). */
  readonly maxDelayMs?: number;
  /** Whether an event naming this (resolved) path can matter; default: every path. */
  readonly relevant?: (changedPath: string) => boolean;
  readonly pollIntervalMs: number;
  /** The directories to watch now (re-evaluated on every poll). */
  readonly directories: () => Promise<readonly string[]>;
  /** Cheap check: does the disk differ from what the last reload saw? */
  readonly changedOnDisk: () => Promise<boolean>;
  /**
   * `paths`: the (resolved) paths fs.watch named since the last reload; undefined
   * when anything may have changed.
   */
  readonly reload: (paths: ReadonlySet<string> | undefined) => Promise<void>;
  readonly logger: ChangeWatcherLogger;
}

interface DirectoryWatch {
  readonly watcher: FSWatcher;
  /** The inode watched: a directory replaced under the same name needs a new watch. */
  readonly ino: number;
}

export class ChangeWatcher {
  private readonly watches = new Map<string, DirectoryWatch>();
  private debounceTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private polling = false;
  private stopped = false;
  /** What the next reload must look at: named paths, or everything. */
  private pendingPaths = new Set<string>();
  private pendingAll = false;
  /** When the oldest change not yet reloaded was seen (undefined: none pending). */
  private pendingSince: number | undefined;
  /** When the latest change was seen. */
  private lastChangeAt = 0;

  constructor(private readonly options: ChangeWatcherOptions) {}

  async start(): Promise<void> {
    await this.refreshWatches();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.pollTimer);
    this.debounceTimer = undefined;
    this.pollTimer = undefined;
    for (const { watcher } of this.watches.values()) watcher.close();
    this.watches.clear();
    await this.running;
    this.options.writes?.close();
  }

  /**
   * Schedules a reload after the debounce; every new trigger restarts the wait.
   * `changedPath`: the path that changed, if known; without one the reload looks at everything.
   */
  trigger(changedPath?: string): void {
    if (this.stopped) return;
    if (changedPath !== undefined && this.options.relevant !== undefined && !this.options.relevant(changedPath)) return;
    if (changedPath === undefined || this.pendingPaths.size >= MAX_NAMED_PATHS) {
      this.pendingAll = true;
      this.pendingPaths.clear();
    } else if (!this.pendingAll) {
      this.pendingPaths.add(changedPath);
    }
    const now = performance.now();
    this.pendingSince ??= now;
    this.lastChangeAt = now;
    this.schedule(this.trackable() ? (this.options.settleMs ?? DEFAULT_SETTLE_MS) : this.options.debounceMs);
  }

  /** Named files the write tracker can vouch for (a full look waits the quiet time). */
  private trackable(): boolean {
    return this.options.writes !== undefined && !this.pendingAll && this.pendingPaths.size > 0;
  }

  /** Looks again in `ms`, but never past maxDelayMs after the oldest pending change. */
  private schedule(ms: number): void {
    const maxDelayMs = this.options.maxDelayMs ?? 5 * this.options.debounceMs;
    const delay = Math.max(0, Math.min(ms, (this.pendingSince ?? performance.now()) + maxDelayMs - performance.now()));
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.settle(), delay);
  }

  /** Reloads now if the changed files are complete (or the wait is over), else waits more. */
  private settle(): void {
    this.debounceTimer = undefined;
    const now = performance.now();
    const maxDelayMs = this.options.maxDelayMs ?? 5 * this.options.debounceMs;
    const overdue = this.pendingSince === undefined || now >= this.pendingSince + maxDelayMs;
    if (!overdue) {
      const state = this.trackable() ? this.options.writes?.state(this.pendingPaths) : 'unknown';
      if (state === 'writing') return this.schedule(this.options.settleMs ?? DEFAULT_SETTLE_MS);
      const quietFor = now - this.lastChangeAt;
      if (state !== 'closed' && quietFor < this.options.debounceMs) return this.schedule(this.options.debounceMs - quietFor);
    }
    this.pendingSince = undefined;
    this.runReload();
  }

  private runReload(): void {
    if (this.running !== undefined) {
      // Changes seen mid-reload may have been read half-way: read again afterwards.
      this.rerun = true;
      return;
    }
    this.running = (async () => {
      do {
        this.rerun = false;
        const paths = this.pendingAll ? undefined : this.pendingPaths;
        this.pendingAll = false;
        this.pendingPaths = new Set();
        try {
          await this.options.reload(paths);
        } catch (err) {
          // What it was to look at is lost: the next reload looks at everything.
          this.pendingAll = true;
          this.options.logger.warn({ err }, 'manifest reload failed');
        }
      } while (this.rerun && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      await this.refreshWatches();
      if (this.debounceTimer !== undefined || this.running !== undefined) return;
      if (await this.options.changedOnDisk()) {
        this.options.logger.debug({}, 'poll found manifest changes the watcher missed');
        this.trigger();
      }
    } catch (err) {
      this.options.logger.warn({ err }, 'manifest poll failed');
    } finally {
      this.polling = false;
    }
  }

  /** Watches every wanted directory that exists, replacing watches on vanished or replaced ones. */
  private async refreshWatches(): Promise<void> {
    const wanted = new Set(await this.options.directories());
    for (const [dir, current] of this.watches) {
      if (!wanted.has(dir)) this.unwatch(dir, current);
    }
    for (const dir of wanted) {
      let ino: number;
      try {
        const info = await stat(dir);
        if (!info.isDirectory()) throw new Error('not a directory');
        ino = info.ino;
      } catch {
        const current = this.watches.get(dir);
        if (current !== undefined) this.unwatch(dir, current);
        continue;
      }
      const current = this.watches.get(dir);
      if (current !== undefined && current.ino === ino) continue;
      if (current !== undefined) this.unwatch(dir, current);
      if (this.stopped) return;
      try {
        // The tracker first: an event fs.watch reports must not be missing from it.
        this.options.writes?.watch(dir);
        const watcher = watch(dir, { persistent: true }, (_event, name) => this.trigger(name === null ? undefined : path.join(dir, name)));
        watcher.on('error', (err) => {
          this.options.logger.debug({ err, dir }, 'directory watch failed; polling until it can be re-established');
          const broken = this.watches.get(dir);
          if (broken?.watcher === watcher) this.unwatch(dir, broken);
        });
        this.watches.set(dir, { watcher, ino });
      } catch (err) {
        this.options.logger.debug({ err, dir }, 'cannot watch directory; relying on polling');
      }
    }
  }

  private unwatch(dir: string, current: DirectoryWatch): void {
    current.watcher.close();
    this.options.writes?.unwatch(dir);
    this.watches.delete(dir);
  }
}
