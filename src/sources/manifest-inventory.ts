// The manifest files known to exist and their stamps, kept up to date either
// by a full rescan (stat everything, report what differs) or by checking just
// the paths the watcher named (stat those only).
import path from 'node:path';
import { IO_CONCURRENCY, isManifestName, isUnder, mapConcurrently, NODE_FILE_SYSTEM, scanManifestPaths, stampOf, type ManifestFileSystem, type ManifestScan } from './manifest-files.js';

export interface InventoryChanges {
  /** Files to read: new, with a new stamp, or named by the watcher. */
  readonly toRead: readonly string[];
  /** Files that are gone. */
  readonly removed: readonly string[];
}

export class ManifestInventory {
  private files = new Map<string, string>();
  private lastScan: ManifestScan | undefined;
  private readonly configured: ReadonlySet<string>;

  constructor(
    private readonly paths: readonly string[],
    private readonly fs: ManifestFileSystem = NODE_FILE_SYSTEM,
  ) {
    this.configured = new Set(paths.map((p) => path.resolve(p)));
  }

  /** The last full scan (undefined before the first). */
  get scan(): ManifestScan | undefined {
    return this.lastScan;
  }

  /** Configured directories, resolved → as spelled. */
  get directories(): ReadonlyMap<string, string> {
    return this.lastScan?.directories ?? new Map();
  }

  /**
   * Stats everything the paths name; returns the files that differ from what was known.
   * Files of a configured path that cannot be read now are kept, not removed: a
   * directory gone or unreadable is a fault to report, not an order to delete every
   * service it defined.
   */
  async rescan(): Promise<InventoryChanges> {
    const scan = await scanManifestPaths(this.paths, this.fs);
    const toRead: string[] = [];
    const removed: string[] = [];
    const files = new Map(scan.files);
    for (const [file, stamp] of scan.files) if (this.files.get(file) !== stamp) toRead.push(file);
    for (const [file, stamp] of this.files) {
      if (scan.files.has(file)) continue;
      if (scan.unreadable.some((configured) => isUnder(file, configured))) files.set(file, stamp);
      else removed.push(file);
    }
    this.files = files;
    this.lastScan = scan;
    return { toRead, removed };
  }

  /**
   * Stats only `changed` (resolved paths, as the watcher names them). Undefined
   * when only a rescan can tell: a configured path itself changed (a directory
   * replaced, a named file re-created), or nothing was scanned yet.
   */
  async check(changed: ReadonlySet<string>): Promise<InventoryChanges | undefined> {
    if (this.lastScan === undefined) return undefined;
    const candidates: string[] = [];
    for (const resolved of changed) {
      if (this.configured.has(resolved)) return undefined;
      const name = path.basename(resolved);
      const dir = this.lastScan.directories.get(path.dirname(resolved));
      // Other entries of a configured file's parent directory are none of our business.
      if (dir !== undefined && isManifestName(name)) candidates.push(path.join(dir, name));
    }
    const stamps = await mapConcurrently(candidates, IO_CONCURRENCY, (file) => stampOf(file, this.fs));
    // A file gone with its whole directory is for a rescan to judge (see rescan).
    const dirsOfGone = new Set(candidates.filter((_, i) => stamps[i] === undefined).map((file) => path.dirname(file)));
    for (const dir of dirsOfGone) if (!(await this.isDirectory(dir))) return undefined;
    const toRead: string[] = [];
    const removed: string[] = [];
    candidates.forEach((file, i) => {
      const stamp = stamps[i];
      if (stamp !== undefined) {
        // Read even with an unchanged stamp: timestamps are coarse, the watcher's word is not.
        this.files.set(file, stamp);
        toRead.push(file);
      } else if (this.files.delete(file)) {
        removed.push(file);
      }
    });
    return { toRead, removed };
  }

  private async isDirectory(dir: string): Promise<boolean> {
    try {
      return (await this.fs.stat(dir)).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Whether a change to `changed` (resolved) can matter: a configured path, or a
   * manifest-named entry of a configured directory. Other entries of the watched
   * parent directories (a log file beside the manifests) cannot.
   */
  concerns(changed: string): boolean {
    if (this.configured.has(changed)) return true;
    return isManifestName(path.basename(changed)) && this.configured.has(path.dirname(changed));
  }

  /** A file found missing when read: gone until a scan or the watcher sees it again. */
  forget(file: string): void {
    this.files.delete(file);
  }

  /** The poller's cheap check: would a rescan find anything different? */
  async changedOnDisk(): Promise<boolean> {
    const before = this.lastScan;
    const now = await scanManifestPaths(this.paths, this.fs);
    if (before === undefined || before.readablePaths !== now.readablePaths) return true;
    for (const [file, stamp] of now.files) if (this.files.get(file) !== stamp) return true;
    for (const file of this.files.keys()) {
      if (!now.files.has(file) && !now.unreadable.some((configured) => isUnder(file, configured))) return true;
    }
    return false;
  }
}
