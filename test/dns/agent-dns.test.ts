// `svcplane run --dns-listen` with run's DNS flags (--dns-cluster-domain, --dns-ttl,
// --dns-pod-records, --dns-upstream, --dns-workers): the real agent (userspace mode without redirects, so no
// kernel table is touched) in a scratch network namespace, queried with dig inside it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/kernel/exec.js';
import { cleanup, CLI, digIn, requireTool, rrs, service, slice, tempDir, writeManifests } from './dns-fixture.js';

const NS = 'svcp-h17-agentdns';
const ZONE = 'corp.internal';

describe('svcplane run serves DNS with its --dns-* flags', () => {
  let dir: string;
  let agent: ChildProcess | undefined;
  let log = '';
  const q = (...args: string[]) => digIn(NS, '127.0.0.1', 53, args);

  beforeAll(async () => {
    requireTool('dig');
    await runCommand('ip', ['netns', 'del', NS]);
    expect((await runCommand('ip', ['netns', 'add', NS])).code).toBe(0);
    await runCommand('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    await runCommand('ip', ['-n', NS, 'route', 'add', 'blackhole', 'default']);
    dir = tempDir('agent');
    writeManifests(join(dir, 'cluster.yaml'), [
      service('web', 'dnstest', { clusterIP: '10.96.50.1', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }),
      service('db', 'dnstest', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] }),
      slice('db', 'dnstest', 'IPv4', [{ addresses: ['10.244.6.1'] }], [{ port: 5432 }]),
    ]);
    agent = spawn('ip', [
      'netns', 'exec', NS, process.execPath, CLI, 'run', '--mode', 'userspace', '--userspace-no-redirect', '--manifests', dir,
      '--node-name', 'node-a', '--node-ip', '127.0.0.1', '--log-format', 'text',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
      '--dns-listen', '127.0.0.1:53', '--dns-upstream', '127.0.0.2:53',
      '--dns-cluster-domain', ZONE, '--dns-ttl', '30', '--dns-pod-records', 'disabled',
      // UDP in the agent's own thread here; the `svcplane dns` tests run the default workers.
      '--dns-workers', '0',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!log.includes('serving cluster DNS') || (await q(`web.dnstest.svc.${ZONE}`, 'A')).status !== 'NOERROR') {
      if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`svcplane run did not serve DNS:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    await runCommand('ip', ['netns', 'del', NS]);
    if (dir) cleanup(dir);
  });

  it('logs the settings it serves with', () => {
    expect(log).toMatch(new RegExp(`serving cluster DNS .*zone=${ZONE}.*podRecords=disabled.*ttl=30.*udpWorkers=0`));
  });

  it('answers the --dns-cluster-domain zone with the --dns-ttl TTL', async () => {
    const r = await q(`web.dnstest.svc.${ZONE}`, 'A');
    expect(r.answer).toEqual([`web.dnstest.svc.${ZONE}. 30 IN A 10.96.50.1`]);
    const h = await q(`db.dnstest.svc.${ZONE}`, 'A');
    expect(rrs(h.answer)).toEqual([`db.dnstest.svc.${ZONE}. A 10.244.6.1`]);
  });

  it('negative answers carry the zone\'s SOA with the same TTL', async () => {
    const r = await q(`nope.dnstest.svc.${ZONE}`, 'A');
    expect(r.status).toBe('NXDOMAIN');
    expect(r.authority[0]).toMatch(new RegExp(`^${ZONE.replace('.', '\\.')}\\. 30 IN SOA ns\\.dns\\.${ZONE.replace('.', '\\.')}\\. `));
  });

  it('--dns-pod-records disabled: no pod names', async () => {
    expect((await q(`10-244-6-1.dnstest.pod.${ZONE}`, 'A')).status).toBe('NXDOMAIN');
  });

  it('cluster.local is no longer its zone: it goes to --dns-upstream (absent here: SERVFAIL)', async () => {
    expect((await q('web.dnstest.svc.cluster.local', 'A')).status).toBe('SERVFAIL');
  });
});

describe('svcplane run refuses DNS flags without --dns-listen', () => {
  it('exits with an error naming the flag', async () => {
    const r = await runCommand(process.execPath, [CLI, 'run', '--mode', 'userspace', '--userspace-no-redirect', '--manifests', '/nonexistent', '--dns-ttl', '30']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--dns-ttl needs --dns-listen/);
  });
});
