import { describe, expect, it } from 'vitest';
import { Libbpf } from './bpf/libbpf.js';
import { systemLibc } from './libc.js';
import { netnsPath } from './netns.js';
import { SyscallError } from './errors.js';

describe('systemLibc', () => {
  it('binds libc once per process', () => {
    const a = systemLibc();
    expect(systemLibc()).toBe(a);
    expect(a.ifNametoindex('lo')).toBeGreaterThan(0);
    expect(a.ifNametoindex('sperr-no-such-if')).toBe(0);
  });

  it('is the binding libbpf uses too; libbpf itself is declared once however many Libbpf are open', () => {
    const one = Libbpf.open();
    const two = Libbpf.open();
    try {
      expect(one.setns).toBe(systemLibc().setns);
      expect(one.closeFd).toBe(systemLibc().close);
      expect(two.objectLoad).toBe(one.objectLoad);
    } finally {
      two.close();
      one.close();
    }
  });
});

describe('netnsPath', () => {
  it('refuses names that would leave /var/run/netns', () => {
    expect(netnsPath('svcp-a')).toBe('/var/run/netns/svcp-a');
    for (const bad of ['..', '.', 'a/b', '']) expect(() => netnsPath(bad)).toThrow(SyscallError);
  });
});
