// A mode this build does not have (userspace, for now) is refused by `run`
// with a clear error and is a no-op for `cleanup`, from the built CLI. Each
// command runs in a network namespace of its own (unshare -n), so that even a
// regression that programmed iptables in its place would touch nothing real.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const manifests = mkdtempSync(join(tmpdir(), 'sp-fixes15-unbuilt-'));

function svcplane(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--net', '--', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a mode that is not in this build', () => {
  afterAll(() => rmSync(manifests, { recursive: true, force: true }));

  it('run --mode userspace fails with a clear error instead of running iptables', () => {
    expect(existsSync(CLI), `${CLI} is missing: build first (make build; make test does it)`).toBe(true);
    const r = svcplane('run', '--mode', 'userspace', '--source', 'files', '--manifests', manifests, '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0');
    expect(r.stderr).toMatch(/^svcplane: mode userspace is not in this build of svcplane yet; use one of: auto, iptables/m);
    expect(r.stderr + r.stdout).not.toContain('synced proxy rules');
    expect(r.code).toBe(1);
  });

  it('cleanup --mode userspace succeeds and says there is nothing to remove', () => {
    const r = svcplane('cleanup', '--mode', 'userspace');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe("svcplane's userspace mode is not in this build: it left nothing in the kernel\n");
    expect(r.code).toBe(0);
  });
});
