import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sysctl, SysctlError } from './sysctl.js';

describe('Sysctl', () => {
  it('reads, sets only when different, and refuses names that are not sysctl names', async () => {
    const root = mkdtempSync(join(tmpdir(), 'svcp-sysctl-'));
    mkdirSync(join(root, 'net/ipv4/vs'), { recursive: true });
    writeFileSync(join(root, 'net/ipv4/vs/conntrack'), '0\n');
    const s = new Sysctl(root);
    expect(await s.get('net.ipv4.vs.conntrack')).toBe('0');
    expect(await s.ensure('net.ipv4.vs.conntrack', 1)).toBe('0');
    expect(readFileSync(join(root, 'net/ipv4/vs/conntrack'), 'utf8')).toBe('1');
    expect(await s.ensure('net.ipv4.vs.conntrack', 1)).toBeUndefined();
    await expect(s.get('../../etc/passwd')).rejects.toThrow(SysctlError);
    await expect(s.get('net.ipv4.missing')).rejects.toThrow(/net.ipv4.missing/);
  });
});
