import { describe, expect, it } from 'vitest';
import { cgroup2Root } from './cgroup.js';

describe('cgroup2Root', () => {
  it('finds the cgroup2 mount among v1 hierarchies, and says when there is none', () => {
    const hybrid = ['cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0', 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0', ''].join('\n');
    expect(cgroup2Root(hybrid)).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Root('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n')).toBe('/sys/fs/cgroup');
    expect(cgroup2Root('cgroup2 /mnt/my\\040cg cgroup2 rw 0 0\n')).toBe('/mnt/my cg');
    expect(cgroup2Root('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n')).toBeUndefined();
  });
});
