// Which manifest files the configured paths name, and cheap change stamps
// for them (so polling can tell whether a reload is needed without reading).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

export interface ManifestScan {
  /** File path (as spelled from the configured path) → change stamp, in sorted path order. */
  readonly files: ReadonlyMap<string, string>;
  /** How many configured paths could be read (a file, or a listable directory). */
  readonly readablePaths: number;
  /** Why the other paths could not. */
  readonly problems: readonly string[];
  /** The configured paths that are directories, resolved. */
  readonly directories: ReadonlySet<string>;
}

/**
 * Expands `paths` (files, or directories read non-recursively for files with a
 * manifest extension; dotfiles are skipped, as editors keep swap files there).
 */
export async function scanManifestPaths(paths: readonly string[]): Promise<ManifestScan> {
  const found = new Map<string, string>(); // resolved path → path as spelled
  const problems: string[] = [];
  const directories = new Set<string>();
  let readablePaths = 0;
  for (const configured of paths) {
    try {
      const info = await stat(configured);
      if (info.isDirectory()) {
        const names = await readdir(configured);
        readablePaths++;
        directories.add(path.resolve(configured));
        for (const name of names) {
          if (name.startsWith('.') || !MANIFEST_EXTENSIONS.includes(path.extname(name).toLowerCase())) continue;
          const file = path.join(configured, name);
          if (!found.has(path.resolve(file))) found.set(path.resolve(file), file);
        }
      } else {
        readablePaths++;
        if (!found.has(path.resolve(configured))) found.set(path.resolve(configured), configured);
      }
    } catch (err) {
      problems.push(errorMessage(err));
    }
  }

  const sorted = [...found.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files = new Map<string, string>();
  for (const file of sorted) {
    const stamp = await stampOf(file);
    // Directories or vanished entries are not manifests; a race with deletion is seen on the next scan.
    if (stamp !== undefined) files.set(file, stamp);
  }
  return { files, readablePaths, problems, directories };
}

/** Identity + size + times, to nanoseconds: changes whenever the content may have. */
async function stampOf(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file, { bigint: true });
    if (!info.isFile()) return undefined;
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export type FileContent = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly missing: boolean; readonly reason: string };

export async function readManifestFile(file: string): Promise<FileContent> {
  try {
    return { ok: true, text: await readFile(file, 'utf8') };
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
export function directoriesToWatch(paths: readonly string[], directories: ReadonlySet<string>): string[] {
  const dirs = new Set<string>();
  for (const configured of paths) {
    const resolved = path.resolve(configured);
    if (directories.has(resolved)) dirs.add(resolved);
    dirs.add(path.dirname(resolved));
  }
  return [...dirs].sort();
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
