import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopOrphanNginx } from './demo-process.js';

/** A process whose command line reads `title` (bash's exec -a), as nginx rewrites its own. */
function processTitled(title: string): ChildProcess {
  return spawn('bash', ['-c', 'exec -a "$0" sleep 30', title], { stdio: 'ignore' });
}

const exited = (child: ChildProcess): Promise<NodeJS.Signals | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.signalCode) : new Promise((r) => child.once('exit', (_c, s) => r(s)));

describe('stopOrphanNginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcp-demo-proc-'));
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops the nginx its pid file names, and leaves any other process that holds the pid file's pid alone", async () => {
    const nginx = processTitled(`nginx: master process /usr/sbin/nginx -p ${dir} -c ${dir}/nginx.conf`);
    const other = processTitled('sleep 30');
    started.push(nginx, other);
    await new Promise((r) => setTimeout(r, 300)); // bash has exec'd

    writeFileSync(join(dir, 'nginx.pid'), `${other.pid}\n`);
    await stopOrphanNginx(join(dir, 'nginx.pid'));
    expect(other.exitCode === null && other.signalCode === null).toBe(true);

    writeFileSync(join(dir, 'nginx.pid'), `${nginx.pid}\n`);
    await stopOrphanNginx(join(dir, 'nginx.pid'));
    expect(await exited(nginx)).toBe('SIGTERM');
  });

  it('does nothing without a pid file', async () => {
    await expect(stopOrphanNginx(join(dir, 'missing.pid'))).resolves.toBeUndefined();
  });
});
