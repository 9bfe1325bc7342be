// glibc's resolver (getent hosts / ahosts) against the real `svcplane dns`, in a network
// namespace whose resolv.conf (/etc/netns/<ns>/resolv.conf, bind-mounted by `ip netns exec`)
// points at the server with a pod's search path, as the kubelet writes it.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterDocs } from './cluster-manifests.js';
import { CLI, cleanup, requireTool, tempDir, writeManifests } from './dns-fixture.js';

const NS = 'sp-dns-glibc';
const NETNS_ETC = `/etc/netns/${NS}`;

function run(file: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000 }, (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }));
  });
}

const getent = (db: 'hosts' | 'ahosts' | 'ahostsv4', name: string) => run('ip', ['netns', 'exec', NS, 'getent', db, name]);

/** `address names...` lines of `getent hosts`, sorted. */
function table(stdout: string): string[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).join(' ')).sort();
}

/** The addresses and the canonical name of `getent ahosts` output. */
function addresses(stdout: string): { addresses: string[]; canonical: string | undefined } {
  const lines = stdout.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
  return { addresses: [...new Set(lines.map((w) => w[0] ?? ''))].sort(), canonical: lines.find((w) => w.length > 2)?.[2] };
}

describe('glibc resolves cluster names through svcplane dns', () => {
  let dir: string;
  let manifests: string;
  let server: ReturnType<typeof spawn> | undefined;
  let log = '';

  beforeAll(async () => {
    requireTool('getent');
    requireTool('ip');
    await run('ip', ['netns', 'del', NS]); // a leftover of an interrupted run
    expect((await run('ip', ['netns', 'add', NS])).code).toBe(0);
    await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    // Nothing leaves this namespace: its only route besides loopback is a blackhole.
    await run('ip', ['-n', NS, 'route', 'add', 'blackhole', 'default']);
    // A pod's eth0 (a veth pair kept inside the namespace): getaddrinfo's AI_ADDRCONFIG asks
    // for a non-loopback address of each family before it queries A or AAAA at all.
    for (const args of [
      ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer'],
      ['addr', 'add', '10.244.99.9/24', 'dev', 'eth0'],
      ['addr', 'add', 'fd00:10:244::99:9/64', 'dev', 'eth0', 'nodad'],
      ['link', 'set', 'eth0', 'up'],
      ['link', 'set', 'eth0-peer', 'up'],
    ]) expect((await run('ip', ['-n', NS, ...args])).code).toBe(0);
    mkdirSync(NETNS_ETC, { recursive: true });
    writeFileSync(join(NETNS_ETC, 'resolv.conf'), 'nameserver 127.0.0.1\nsearch my-ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:1 attempts:2\n');
    dir = tempDir('glibc');
    manifests = join(dir, 'cluster.yaml');
    writeManifests(manifests, clusterDocs());
    server = spawn('ip', ['netns', 'exec', NS, process.execPath, CLI, 'dns', '--manifests', dir, '--listen', '127.0.0.1:53', '--upstream', '127.0.0.2:53', '--log-format', 'text'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!log.includes('serving cluster DNS')) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`svcplane dns did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await run('ip', ['netns', 'del', NS]);
    rmSync(NETNS_ETC, { recursive: true, force: true });
    if (dir) cleanup(dir);
  });

  it('resolves my-service and my-service.my-ns through the search path, as the document says', async () => {
    for (const name of ['my-service', 'my-service.my-ns', 'my-service.my-ns.svc', 'my-service.my-ns.svc.cluster.local']) {
      const r = await getent('hosts', name);
      expect(r.code, name).toBe(0);
      expect(table(r.stdout), name).toEqual(['10.96.60.1 my-service.my-ns.svc.cluster.local']);
    }
  });

  it('resolves services of another namespace by <svc>.<ns>, both families with ahosts', async () => {
    expect(table((await getent('hosts', 'web.dnstest')).stdout)).toEqual(['10.96.50.1 web.dnstest.svc.cluster.local']);
    expect(addresses((await getent('ahosts', 'dual.dnstest')).stdout)).toEqual({ addresses: ['10.96.50.2', 'fd00:10:96::50:2'], canonical: 'dual.dnstest.svc.cluster.local' });
  });

  it('resolves a headless service to its ready endpoints and a pod by hostname.subdomain', async () => {
    expect(addresses((await getent('ahostsv4', 'db.dnstest')).stdout)).toEqual({ addresses: ['10.244.6.1', '10.244.6.2', '10.244.6.3'], canonical: 'db.dnstest.svc.cluster.local' });
    expect(addresses((await getent('ahosts', 'db.dnstest')).stdout).addresses).toEqual(['10.244.6.1', '10.244.6.2', '10.244.6.3', 'fd00:10:244::6:1']);
    expect(table((await getent('hosts', 'busybox-1.default-subdomain.dnstest.svc.cluster.local')).stdout)).toEqual(['10.244.7.1 busybox-1.default-subdomain.dnstest.svc.cluster.local']);
    // db-0 has both families; getent hosts asks for IPv6 first.
    expect(table((await getent('hosts', 'db-0.db.dnstest')).stdout)).toEqual(['fd00:10:244::6:1 db-0.db.dnstest.svc.cluster.local']);
    expect(addresses((await getent('ahostsv4', 'db-0.db.dnstest')).stdout).addresses).toEqual(['10.244.6.1']);
  });

  it('resolves a cluster IP back to its service name, and a pod name to its address', async () => {
    expect(table((await getent('hosts', '10.96.60.1')).stdout)).toEqual(['10.96.60.1 my-service.my-ns.svc.cluster.local']);
    expect(table((await getent('hosts', '10-244-1-5.my-ns.pod.cluster.local')).stdout)).toEqual(['10.244.1.5 10-244-1-5.my-ns.pod.cluster.local']);
  });

  it('fails for names that do not exist', async () => {
    expect((await getent('hosts', 'no-such-service')).code).toBe(2);
    expect((await getent('hosts', 'my-service.no-such-ns')).code).toBe(2);
    // Those ended at the (dead) upstream: the server must have survived the failed forwards.
    expect(server?.exitCode).toBeNull();
  });

  it('an added service resolves, and a removed one stops resolving, within a second', async () => {
    const waitFor = async (resolves: boolean): Promise<number> => {
      const t0 = Date.now();
      for (;;) {
        const r = await getent('hosts', 'late');
        if ((r.code === 0) === resolves) {
          process.stderr.write(`late ${resolves ? 'resolves' : 'gone'} after ${Date.now() - t0} ms\n`);
          return Date.now() - t0;
        }
        if (Date.now() - t0 > 5000) throw new Error(`late: getent exit ${r.code} after 5 s`);
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    expect((await getent('hosts', 'late')).code).toBe(2);
    const late = join(dir, 'late.yaml');
    writeManifests(late, [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'my-ns' }, spec: { clusterIP: '10.96.60.9', ports: [{ port: 80 }] } }]);
    expect(await waitFor(true)).toBeLessThan(1000);
    expect(table((await getent('hosts', 'late')).stdout)).toEqual(['10.96.60.9 late.my-ns.svc.cluster.local']);
    rmSync(late);
    expect(await waitFor(false)).toBeLessThan(1000);
  });
});
