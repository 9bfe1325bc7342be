import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { Sysctl } from '../../src/kernel/sysctl.js';
import { addNetns, deleteNetns } from '../../src/testbed/netns.js';

const NS = `svcp-sysctl-${process.pid}`;

describe('Sysctl in a network namespace', () => {
  beforeAll(() => addNetns(NS));
  afterAll(() => deleteNetns(NS));

  it('sets the namespace\'s own net.* value and leaves the host\'s alone', async () => {
    const host = (await runChecked('sysctl', ['-n', 'net.ipv4.conf.all.arp_ignore'])).stdout.trim();
    const s = new Sysctl('/proc/sys', NS);
    const want = host === '1' ? 2 : 1;
    // A fresh namespace starts from the kernel default, 0.
    expect(await s.ensure('net.ipv4.conf.all.arp_ignore', want)).toBe('0');
    expect(await s.get('net.ipv4.conf.all.arp_ignore')).toBe(String(want));
    expect(await s.ensure('net.ipv4.conf.all.arp_ignore', want)).toBeUndefined();
    expect((await runChecked('sysctl', ['-n', 'net.ipv4.conf.all.arp_ignore'])).stdout.trim()).toBe(host);
  });
});
