// A Source reading Services, EndpointSlices (or Endpoints) and Nodes from
// manifest files: a file, several, or directories of multi-document YAML/JSON.
// It delivers what the Kubernetes source will: one initial batch ending in
// 'synced', then one batch of differences per change on disk.
import { ValidationError } from '../model/errors.js';
import { SvcplaneError } from '../util/errors.js';
import { ChangeWatcher } from './change-watcher.js';
import { ClusterIPAllocator, DEFAULT_SERVICE_CIDRS } from './cluster-ip-allocator.js';
import { directoriesToWatch, readManifestFile, scanManifestPaths, type ManifestScan } from './manifest-files.js';
import { ManifestState, type FileSnapshot } from './manifest-state.js';
import type { Source, SourceEvent, SourceSink } from './source.js';

export const DEFAULT_DEBOUNCE_MS = 200;
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/** The pino subset used here. */
export interface ManifestSourceLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ManifestSourceOptions {
  readonly paths: readonly string[];
  /** Quiet time after the last change before reloading. */
  readonly debounceMs?: number;
  /** Ranges cluster IPs are allocated from; the first of each family is used. */
  readonly serviceCIDRs?: readonly string[];
  readonly logger?: ManifestSourceLogger;
  /** false: read once at start, never again. */
  readonly watch?: boolean;
  /** Safety net for changes fs.watch misses. */
  readonly pollIntervalMs?: number;
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
  /** What the last reload saw on disk (stamps, readable paths). */
  private lastScan: ManifestScan | undefined;
  /** Read failures already reported, so that each is reported once. */
  private readFailures = new Map<string, string>();
  private lastError: string | undefined;
  private stopped = false;

  constructor(private readonly options: ManifestSourceOptions) {
    if (options.paths.length === 0) throw new ManifestSourceError('no manifest paths given');
    this.paths = [...options.paths];
    this.logger = options.logger ?? SILENT;
    this.state = new ManifestState(new ClusterIPAllocator(options.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS, this.logger));
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.sink !== undefined) throw new ManifestSourceError('manifest source already started');
    this.sink = sink;
    const events = await this.load();
    sink([...events, { type: 'synced' }]);
    if (this.options.watch === false || this.stopped) return;
    this.watcher = new ChangeWatcher({
      debounceMs: this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      pollIntervalMs: this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      directories: async () => directoriesToWatch(this.paths, this.lastScan?.directories ?? new Set()),
      changedOnDisk: () => this.changedOnDisk(),
      reload: () => this.reload(),
      logger: this.logger,
    });
    await this.watcher.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.stop();
    this.watcher = undefined;
  }

  status(): { readonly healthy: boolean; readonly detail: string } {
    const scan = this.lastScan;
    if (scan === undefined) return { healthy: false, detail: 'manifests not loaded yet' };
    const healthy = scan.readablePaths > 0;
    const loaded = healthy
      ? `${this.state.fileCount} manifest files, ${this.state.objectCount} objects loaded`
      : `no manifest path readable (${this.paths.join(', ')})`;
    return { healthy, detail: this.lastError === undefined ? loaded : `${loaded}; last error: ${this.lastError}` };
  }

  private async reload(): Promise<void> {
    if (this.stopped || this.sink === undefined) return;
    const events = await this.load();
    if (events.length === 0 || this.stopped) return;
    try {
      this.sink(events);
    } catch (err) {
      this.logger.warn({ err }, 'manifest source sink failed');
    }
  }

  /** Reads every file the paths name now and returns the batch for what changed. */
  private async load(): Promise<SourceEvent[]> {
    const scan = await scanManifestPaths(this.paths);
    const previousProblems = this.lastScan?.problems.join('\n');
    if (scan.problems.length > 0 && scan.problems.join('\n') !== previousProblems) {
      this.logger.warn({ problems: scan.problems }, 'cannot read manifest paths');
      this.lastError = scan.problems[0];
    }

    const snapshot: FileSnapshot[] = [];
    const readErrors: ValidationError[] = [];
    const readFailures = new Map<string, string>();
    for (const file of scan.files.keys()) {
      const content = await readManifestFile(file);
      if (content.ok) {
        snapshot.push({ path: file, text: content.text });
      } else if (!content.missing) {
        // Unreadable for now (permissions...): keep its objects as they were.
        snapshot.push({ path: file, text: undefined });
        readFailures.set(file, content.reason);
        if (this.readFailures.get(file) !== content.reason) {
          readErrors.push(new ValidationError({ kind: 'File', namespace: '', name: file }, 'file', content.reason, file));
        }
      }
      // Missing: deleted since the scan; it is gone.
    }
    this.readFailures = readFailures;
    this.lastScan = scan;

    const { events, errors, kept } = this.state.update(snapshot, readErrors);
    for (const key of kept) this.logger.warn({ object: key }, 'definition became invalid; keeping its last good version');
    if (errors.length > 0) {
      this.lastError = errors[errors.length - 1]?.message;
      this.logger.debug({ errors: errors.map((e) => e.message) }, 'invalid manifest content');
    } else if (events.length > 0) {
      // A change that loaded cleanly clears what was wrong before.
      this.lastError = scan.problems[0];
    }
    if (events.length > 0) {
      const changes = events.filter((e) => e.type !== 'invalid').length;
      this.logger.info({ files: this.state.fileCount, objects: this.state.objectCount, changes, invalid: errors.length }, 'manifests loaded');
    }
    return events;
  }

  /** The poller's cheap check: any file added, removed, or with a new stamp? */
  private async changedOnDisk(): Promise<boolean> {
    const before = this.lastScan;
    const now = await scanManifestPaths(this.paths);
    if (before === undefined || before.readablePaths !== now.readablePaths || before.files.size !== now.files.size) return true;
    for (const [file, stamp] of now.files) if (before.files.get(file) !== stamp) return true;
    return false;
  }
}
