// cgroup v2: where its hierarchy is mounted (the eBPF mode's default attach point).
import { readFileSync } from 'node:fs';

/** The first cgroup2 mount point in /proc/self/mounts, or undefined when there is none. */
export function cgroup2Root(mounts: string = readFileSync('/proc/self/mounts', 'utf8')): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint) return mountPoint.replace(/\\040/g, ' ');
  }
  return undefined;
}
