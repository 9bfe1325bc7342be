import { readFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { machineInfo, parseOsRelease } from './machine.js';

describe('parseOsRelease', () => {
  it('reads PRETTY_NAME, quoted or not', () => {
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe(
      'Debian GNU/Linux 12 (bookworm)',
    );
    expect(parseOsRelease("PRETTY_NAME='Alpine Linux v3.20'")).toBe('Alpine Linux v3.20');
    expect(parseOsRelease('PRETTY_NAME=Arch')).toBe('Arch');
    expect(parseOsRelease('NAME=x\n')).toBeUndefined();
    expect(parseOsRelease('PRETTY_NAME=""')).toBeUndefined();
  });
});

describe('machineInfo', () => {
  it('describes this machine and svcplane’s version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const m = machineInfo({ nft: 'v1.0.6' });
    expect(m.hostname).toBe(hostname());
    expect(m.cpus).toBe(cpus().length);
    expect(m.cpuModel).not.toBe('');
    expect(m.memoryGB).toBeGreaterThan(0);
    expect(m.kernel).toBe(release());
    expect(m.node).toBe(process.version);
    expect(m.svcplane).toBe(pkg.version);
    expect(m.tools).toEqual({ nft: 'v1.0.6' });
    expect(m.os).not.toBe('');
  });
});
