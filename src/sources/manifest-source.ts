// A Source reading Services, EndpointSlices (or Endpoints) and Nodes from
// manifest files: a file, several, or directories of multi-document YAML/JSON.
// It delivers what the Kubernetes source will: one initial batch ending in
// 'synced', then one batch of differences per change on disk. As the
// Kubernetes source waits for complete lists, 'synced' waits until every
// configured path can be read: a mistyped or unmounted path at start-up must
// not program (and so wipe) zero services. A path lost later keeps what it
// last defined, and status() says so.
import { ValidationError } from '../model/errors.js';
import { SvcplaneError } from '../util/errors.js';
import { WriteCloseWatch } from '../kernel/write-close-watch.js';
import { ChangeWatcher } from './change-watcher.js';
import { ClusterIPAllocator, DEFAULT_SERVICE_CIDRS } from './cluster-ip-allocator.js';
import {
  directoriesToWatch,
  IO_CONCURRENCY,
  mapConcurrently,
  NODE_FILE_SYSTEM,
  readManifestFile,
  type ManifestFileSystem,
} from './manifest-files.js';
import { ManifestInventory, type InventoryChanges } from './manifest-inventory.js';
import { ManifestState, type DocumentValidator, type FileChange } from './manifest-state.js';
import type { Source, SourceEvent, SourceSink } from './source.js';

export const DEFAULT_DEBOUNCE_MS = 200;
export const DEFAULT_POLL_INTERVAL_MS = 2000;
/** However busy the directories, a change is loaded within this long (plus the read). */
export const DEFAULT_MAX_DELAY_MS = 1000;

/** The pino subset used here. */
export interface ManifestSourceLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ManifestSourceOptions {
  readonly paths: readonly string[];
  /** Quiet time after the last change before reloading, when inotify cannot tell the file was closed. */
  readonly debounceMs?: number;
  /** false: no inotify close events, only the quiet time (default: tracked where inotify works). */
  readonly trackWrites?: boolean;
  /** Ranges cluster IPs are allocated from; the first of each family is used. */
  readonly serviceCIDRs?: readonly string[];
  readonly logger?: ManifestSourceLogger;
  /** false: read once at start, never again. */
  readonly watch?: boolean;
  /** Longest wait from a change to its reload, however often the debounce restarts. */
  readonly maxDelayMs?: number;
  /** Safety net for changes fs.watch misses. */
  readonly pollIntervalMs?: number;
  /** The file system calls made (tests count them). */
  readonly fileSystem?: ManifestFileSystem;
  /** The validation of each document (tests count it). */
  readonly validate?: DocumentValidator;
}

export class ManifestSourceError extends SvcplaneError {
  override readonly code = 'SVCPLANE_MANIFEST_SOURCE';
}

const SILENT: ManifestSourceLogger = { warn: () => undefined, info: () => undefined, debug: () => undefined };

export class ManifestSource implements Source {
  private readonly paths: readonly string[];
  private readonly logger: ManifestSourceLogger;
  private readonly state: ManifestState;
  private sink: SourceSink | undefined;
  private watcher: ChangeWatcher | undefined;
  private readonly fs: ManifestFileSystem;
  /** What is on disk as last seen (stamps, readable paths). */
  private readonly inventory: ManifestInventory;
  /** Read failures already reported, so that each is reported once. */
  private readonly readFailures = new Map<string, string>();
  private lastError: string | undefined;
  private stopped = false;
  /** 'synced' was delivered: every configured path was readable once. */
  private synced = false;
  /** Events loaded before 'synced', delivered with it. */
  private beforeSync: SourceEvent[] = [];
  private settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Since when some configured path cannot be read (undefined while all can). */
  private unreadableSince: Date | undefined;

  constructor(private readonly options: ManifestSourceOptions) {
    if (options.paths.length === 0) throw new ManifestSourceError('no manifest paths given');
    this.paths = [...options.paths];
    this.logger = options.logger ?? SILENT;
    this.fs = options.fileSystem ?? NODE_FILE_SYSTEM;
    this.inventory = new ManifestInventory(this.paths, this.fs);
    const allocator = new ClusterIPAllocator(options.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS, this.logger);
    this.state = new ManifestState(allocator, options.validate);
  }

  /** Resolves once 'synced' was delivered: after every configured path could be read. */
  async start(sink: SourceSink): Promise<void> {
    if (this.sink !== undefined) throw new ManifestSourceError('manifest source already started');
    this.sink = sink;
    const events = await this.load();
    if (this.options.watch === false && !this.complete()) {
      throw new ManifestSourceError(`cannot read manifest paths: ${this.inventory.scan?.problems.join('; ')}`);
    }
    const first = this.complete()
      ? undefined
      : new Promise<void>((resolve, reject) => {
          this.settleStart = { resolve, reject };
        });
    this.deliver(events);
    if (first !== undefined) {
      this.logger.warn({ problems: this.inventory.scan?.problems }, 'manifest paths cannot be read; programming nothing until they can');
    }
    if (this.options.watch !== false && !this.stopped) {
      // A file closed by its writer is read at once; one still written to is waited for.
      const writes = this.options.trackWrites === false ? undefined : WriteCloseWatch.open();
      this.watcher = new ChangeWatcher({
        debounceMs: this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
        ...(writes === undefined ? {} : { writes }),
        maxDelayMs: this.options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
        pollIntervalMs: this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
        relevant: (changed) => this.inventory.concerns(changed),
        directories: async () => directoriesToWatch(this.paths, this.inventory.directories),
        changedOnDisk: () => this.inventory.changedOnDisk(),
        reload: (paths) => this.reload(paths),
        logger: this.logger,
      });
      await this.watcher.start();
    }
    await first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.stop();
    this.watcher = undefined;
    this.settleStart?.reject(new ManifestSourceError('manifest source stopped before every manifest path could be read'));
    this.settleStart = undefined;
  }

  status(): { readonly healthy: boolean; readonly detail: string } {
    const scan = this.inventory.scan;
    if (scan === undefined) return { healthy: false, detail: 'manifests not loaded yet' };
    if (!this.synced) {
      return { healthy: false, detail: `cannot read manifest paths (${scan.problems.join('; ')}); nothing programmed until they can be read` };
    }
    if (scan.unreadable.length > 0) {
      const since = this.unreadableSince === undefined ? '' : ` since ${this.unreadableSince.toISOString()}`;
      const kept = `keeping the last good state: ${this.state.fileCount} manifest files, ${this.state.objectCount} objects`;
      return { healthy: false, detail: `cannot read manifest paths${since} (${scan.problems.join('; ')}); ${kept}` };
    }
    const loaded = `${this.state.fileCount} manifest files, ${this.state.objectCount} objects loaded`;
    return { healthy: true, detail: this.lastError === undefined ? loaded : `${loaded}; last error: ${this.lastError}` };
  }

  /** Every configured path could be read at the last full scan. */
  private complete(): boolean {
    return (this.inventory.scan?.unreadable.length ?? 1) === 0;
  }

  /** Hands a batch on, or holds it until every path has been read once. */
  private deliver(events: readonly SourceEvent[]): void {
    if (this.sink === undefined || this.stopped) return;
    if (!this.synced) {
      this.beforeSync.push(...events);
      if (!this.complete()) return;
      this.synced = true;
      events = [...this.beforeSync, { type: 'synced' }];
      this.beforeSync = [];
      this.settleStart?.resolve();
      this.settleStart = undefined;
    }
    if (events.length === 0) return;
    try {
      this.sink(events);
    } catch (err) {
      if (!this.synced) throw err;
      this.logger.warn({ err }, 'manifest source sink failed');
    }
  }

  private async reload(paths: ReadonlySet<string> | undefined): Promise<void> {
    if (this.stopped || this.sink === undefined) return;
    // Until every path was read once, only a full scan can tell that it now is.
    const events = await this.load(this.synced ? paths : undefined);
    if (!this.stopped) this.deliver(events);
  }

  /**
   * Reads what changed (the files `paths` names, or after a full rescan the
   * files whose stamp changed) and returns the batch for it.
   */
  private async load(paths?: ReadonlySet<string>): Promise<SourceEvent[]> {
    const checked = paths === undefined ? undefined : await this.inventory.check(paths);
    const found = checked ?? (await this.rescan());

    const changes: FileChange[] = found.removed.map((file) => ({ path: file, removed: true }));
    const readErrors: ValidationError[] = [];
    const contents = await mapConcurrently(found.toRead, IO_CONCURRENCY, (file) => readManifestFile(file, this.fs));
    found.toRead.forEach((file, i) => {
      const content = contents[i];
      if (content === undefined) return;
      if (content.ok) {
        changes.push({ path: file, text: content.text });
        this.readFailures.delete(file);
      } else if (content.missing) {
        // Deleted since it was seen: it is gone.
        this.inventory.forget(file);
        changes.push({ path: file, removed: true });
        this.readFailures.delete(file);
      } else {
        // Unreadable for now (permissions...): keep its objects as they were.
        if (this.readFailures.get(file) !== content.reason) {
          readErrors.push(new ValidationError({ kind: 'File', namespace: '', name: file }, 'file', content.reason, file));
        }
        this.readFailures.set(file, content.reason);
      }
    });
    for (const file of found.removed) this.readFailures.delete(file);

    const { events, errors, kept } = this.state.update(changes, readErrors);
    for (const key of kept) this.logger.warn({ object: key }, 'definition became invalid; keeping its last good version');
    if (errors.length > 0) {
      this.lastError = errors[errors.length - 1]?.message;
      this.logger.debug({ errors: errors.map((e) => e.message) }, 'invalid manifest content');
    } else if (events.length > 0) {
      // A change that loaded cleanly clears what was wrong before.
      this.lastError = this.inventory.scan?.problems[0];
    }
    if (events.length > 0) {
      const changed = events.filter((e) => e.type !== 'invalid').length;
      this.logger.info({ files: this.state.fileCount, objects: this.state.objectCount, changes: changed, invalid: errors.length }, 'manifests loaded');
    }
    return events;
  }

  /** A full rescan, reporting paths that became unreadable once. */
  private async rescan(): Promise<InventoryChanges> {
    const previousProblems = this.inventory.scan?.problems.join('\n');
    const found = await this.inventory.rescan();
    const problems = this.inventory.scan?.problems ?? [];
    if (problems.length > 0 && problems.join('\n') !== previousProblems) {
      const message = this.synced ? 'cannot read manifest paths; keeping what they last defined' : 'cannot read manifest paths';
      this.logger.warn({ problems, kept: this.synced ? this.state.objectCount : 0 }, message);
      this.lastError = problems[0];
    }
    if (problems.length === 0 && previousProblems !== undefined && previousProblems !== '') {
      this.logger.info({ paths: this.paths }, 'every manifest path can be read again');
    }
    this.unreadableSince = problems.length === 0 ? undefined : (this.unreadableSince ?? new Date());
    return found;
  }
}
