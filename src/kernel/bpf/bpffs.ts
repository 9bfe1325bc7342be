// The bpf filesystem: where svcplane pins its maps and links so that they
// outlive the agent process.

import { existsSync, lstatSync, mkdirSync, readdirSync, rmdirSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BPF_FS_MAGIC, BPFFS_ROOT } from './constants.js';
import { BpfError, BpfUsageError } from './errors.js';
import type { Libbpf } from './libbpf.js';

/** Mounts a bpf filesystem at `path` unless one is there; true when it mounted one. */
export function ensureBpffs(lib: Libbpf, path: string = BPFFS_ROOT): boolean {
  if (isBpffs(path)) return false;
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (lib.mount('bpf', path, 'bpf', 0) !== 0) throw new BpfError(lib.errno(), `mount -t bpf bpf ${path}`);
  return true;
}

export function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Removes every pin (maps, links, programs) under `pinRoot` and the directory
 * itself; returns how many pins went. Refuses anything but a directory inside
 * a bpf filesystem, never the filesystem's root: other tools' pins live there.
 */
export function unpinAll(pinRoot: string): number {
  const root = resolve(pinRoot);
  if (!existsSync(root)) return 0;
  if (!isBpffs(root)) throw new BpfUsageError(`refusing to unpin under ${root}: not on a bpf filesystem`);
  if (statSync(root).dev !== statSync(dirname(root)).dev) throw new BpfUsageError(`refusing to unpin everything at the mount point ${root}`);
  return removeTree(root);
}

function removeTree(dir: string): number {
  let removed = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) removed += removeTree(path);
    else {
      unlinkSync(path); // the object lives on while a program, a link or an fd still holds it
      removed++;
    }
  }
  rmdirSync(dir);
  return removed;
}
