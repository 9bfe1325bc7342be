// The test bed's cgroup (v2): where the eBPF mode's socket programs attach in tests, so that
// only the test bed's processes are load-balanced, never the rest of the machine's.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root } from '../kernel/cgroup.js';

/** A fresh cgroup under the cgroup2 root (a leftover of a killed run is emptied first). */
export async function createCgroup(name: string): Promise<string> {
  const root = cgroup2Root();
  if (root === undefined) throw new Error('the test bed needs a cgroup2 hierarchy, and none is mounted');
  const path = join(root, name);
  if (existsSync(path)) await removeCgroup(path);
  mkdirSync(path);
  return path;
}

/** Kills what is left in the cgroup (cgroup.kill) and removes it, retrying while processes exit. */
export async function removeCgroup(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (existsSync(join(path, 'cgroup.kill'))) writeFileSync(join(path, 'cgroup.kill'), '1');
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  rmdirSync(path);
}
