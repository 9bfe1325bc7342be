// `make build` / `make test` on a machine without npm or the BPF toolchain: the
// Makefile installs them as root on Debian, and otherwise stops with one line
// saying what to install. Run here with a PATH holding only make and a shell,
// and SVCPLANE_NO_INSTALL=1 so that nothing is installed on this machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const bin = mkdtempSync(join(tmpdir(), 'sp-fixes15-bin-'));
for (const tool of ['make', 'bash', 'sh', 'id']) {
  const found = spawnSync('bash', ['-c', 'command -v "$1"', '_', tool], { encoding: 'utf8' }).stdout.trim();
  if (found === '') throw new Error(`${tool} is missing on this machine`);
  symlinkSync(found, join(bin, tool));
}

function bareMake(target: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(bin, 'make'), ['-s', '-C', ROOT, target], {
    encoding: 'utf8',
    env: { PATH: bin, SVCPLANE_NO_INSTALL: '1', HOME: tmpdir() },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('Makefile on a machine without the tools', () => {
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('the BPF build stops with one line naming clang and llvm', () => {
    const r = bareMake('build-tools');
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('svcplane:'));
    expect(lines).toEqual([expect.stringMatching(/^svcplane: make build \(the BPF programs\) needs Debian packages that are missing: clang llvm.* \(as root: apt-get install clang llvm/)]);
  });

  it('npm ci stops with one line naming npm', () => {
    const r = bareMake('npm-tool');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^svcplane: npm ci \(the Node 24 dependencies\) needs Debian packages that are missing: npm \(as root: apt-get install npm\)$/m);
  });

  it('both pass where the tools are present (this machine)', () => {
    const r = spawnSync('make', ['-s', '-C', ROOT, 'build-tools', 'npm-tool'], { encoding: 'utf8', env: { ...process.env, SVCPLANE_NO_INSTALL: '1' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
