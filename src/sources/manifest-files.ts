// Which manifest files the configured paths name, and cheap change stamps
// for them (so that only files whose stamp changed need to be read).
import type { BigIntStats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/** How many stats or reads are in flight at once: enough to keep the thread pool busy. */
export const IO_CONCURRENCY = 64;

/** The file system calls the manifest source makes (injectable, so that tests can count them). */
export interface ManifestFileSystem {
  stat(file: string): Promise<BigIntStats>;
  readdir(dir: string): Promise<string[]>;
  readFile(file: string): Promise<string>;
}

export const NODE_FILE_SYSTEM: ManifestFileSystem = {
  stat: (file) => stat(file, { bigint: true }),
  readdir: (dir) => readdir(dir),
  readFile: (file) => readFile(file, 'utf8'),
};

export interface ManifestScan {
  /** File path (as spelled from the configured path) → change stamp. */
  readonly files: ReadonlyMap<string, string>;
  /** How many configured paths could be read (a file, or a listable directory). */
  readonly readablePaths: number;
  /** Why the other paths could not. */
  readonly problems: readonly string[];
  /** The configured paths (as spelled) that could not be read. */
  readonly unreadable: readonly string[];
  /** The configured paths that are directories: resolved → as spelled (the first spelling wins). */
  readonly directories: ReadonlyMap<string, string>;
}

/**
 * Expands `paths` (files, or directories read non-recursively for files with a
 * manifest extension; dotfiles are skipped, as editors keep swap files there).
 */
export async function scanManifestPaths(paths: readonly string[], fs: ManifestFileSystem = NODE_FILE_SYSTEM): Promise<ManifestScan> {
  const found = new Map<string, string>(); // resolved path → path as spelled
  const problems: string[] = [];
  const unreadable: string[] = [];
  const directories = new Map<string, string>();
  let readablePaths = 0;
  for (const configured of paths) {
    try {
      const info = await fs.stat(configured);
      if (info.isDirectory()) {
        const names = await fs.readdir(configured);
        readablePaths++;
        if (!directories.has(path.resolve(configured))) directories.set(path.resolve(configured), configured);
        for (const name of names) {
          if (!isManifestName(name)) continue;
          const file = path.join(configured, name);
          if (!found.has(path.resolve(file))) found.set(path.resolve(file), file);
        }
      } else {
        readablePaths++;
        if (!found.has(path.resolve(configured))) found.set(path.resolve(configured), configured);
      }
    } catch (err) {
      problems.push(errorMessage(err));
      unreadable.push(configured);
    }
  }

  const candidates = [...found.values()];
  const stamps = await mapConcurrently(candidates, IO_CONCURRENCY, (file) => stampOf(file, fs));
  const files = new Map<string, string>();
  candidates.forEach((file, i) => {
    const stamp = stamps[i];
    // Directories or vanished entries are not manifests; a race with deletion is seen on the next scan.
    if (stamp !== undefined) files.set(file, stamp);
  });
  return { files, readablePaths, problems, unreadable, directories };
}

/** Whether a directory entry is a manifest: not a dotfile, with a manifest extension. */
export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && MANIFEST_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Whether `file` (as a scan names it) came from the configured path `configured`. */
export function isUnder(file: string, configured: string): boolean {
  const resolved = path.resolve(configured);
  return path.resolve(file) === resolved || path.dirname(path.resolve(file)) === resolved;
}

/** Identity + size + times, to nanoseconds: changes whenever the content may have. */
export async function stampOf(file: string, fs: ManifestFileSystem = NODE_FILE_SYSTEM): Promise<string | undefined> {
  try {
    const info = await fs.stat(file);
    if (!info.isFile()) return undefined;
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export type FileContent = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly missing: boolean; readonly reason: string };

export async function readManifestFile(file: string, fs: ManifestFileSystem = NODE_FILE_SYSTEM): Promise<FileContent> {
  try {
    return { ok: true, text: await fs.readFile(file) };
  } catch (err) {
    const missing = err instanceof Error && 'code' in err && err.code === 'ENOENT';
    return { ok: false, missing, reason: errorMessage(err) };
  }
}

/**
 * Directories to watch: each configured directory, and the parent of every
 * configured path, because an atomic rename or a re-created path replaces the
 * inode a watch on the path itself would follow.
 */
export function directoriesToWatch(paths: readonly string[], directories: ReadonlyMap<string, string>): string[] {
  const dirs = new Set<string>();
  for (const configured of paths) {
    const resolved = path.resolve(configured);
    if (directories.has(resolved)) dirs.add(resolved);
    dirs.add(path.dirname(resolved));
  }
  return [...dirs].sort();
}

/** `work` over every item, at most `limit` at a time; results in input order. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
