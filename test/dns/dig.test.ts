// The real `svcplane dns` queried with dig (bind9-dnsutils) over UDP and TCP on loopback,
// with a fake upstream nameserver on loopback for everything outside the cluster zone.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../src/cli/load-manifests.js';
import { clusterDocs } from './cluster-manifests.js';
import { a, cleanup, dig, DnsProcess, FakeUpstream, requireTool, rrs, tempDir, TEST_NET, writeManifests } from './dns-fixture.js';

const SERVER = `${TEST_NET}.1`;
const PORT = 5353;
const SOA = /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/;

describe('svcplane dns answers dig', () => {
  let dir: string;
  let server: DnsProcess;
  let upstream: FakeUpstream;
  let manifests: string;
  const q = (...args: string[]) => dig(SERVER, PORT, args);

  beforeAll(async () => {
    requireTool('dig');
    dir = tempDir('dig');
    manifests = join(dir, 'cluster.yaml');
    writeManifests(manifests, clusterDocs());
    upstream = await new FakeUpstream(`${TEST_NET}.2`, PORT, (question) => {
      const name = question.name.toLowerCase();
      if (name === 'ext-target.example.test' && question.type === 'A') return { answers: [a(question.name, '192.0.2.20')] };
      if (name === 'www.example.test' && question.type === 'A') return { answers: [a(question.name, '192.0.2.10', 300)] };
      if (name === 'big.example.test' && question.type === 'A') {
        return { answers: Array.from({ length: 60 }, (_, i) => a(question.name, `192.0.2.${i + 1}`)) };
      }
      if (name === 'slow.example.test') return 'drop';
      return { flags: 3, authorities: [{ name: 'example.test', type: 'SOA', ttl: 30, class: 'IN', data: { mname: 'ns.example.test', rname: 'h.example.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30 } }] };
    }).start();
    server = await DnsProcess.start(['--manifests', manifests, '--listen', `${SERVER}:${PORT}`, '--upstream', `${upstream.host}:${upstream.port}`]);
  });

  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
    if (dir) cleanup(dir);
  });

  it.each([
    ['web.dnstest.svc.cluster.local', 'A', ['web.dnstest.svc.cluster.local. A 10.96.50.1']],
    ['dual.dnstest.svc.cluster.local', 'A', ['dual.dnstest.svc.cluster.local. A 10.96.50.2']],
    ['dual.dnstest.svc.cluster.local', 'AAAA', ['dual.dnstest.svc.cluster.local. AAAA fd00:10:96::50:2']],
    ['db.dnstest.svc.cluster.local', 'A', ['db.dnstest.svc.cluster.local. A 10.244.6.1', 'db.dnstest.svc.cluster.local. A 10.244.6.2', 'db.dnstest.svc.cluster.local. A 10.244.6.3']],
    ['db.dnstest.svc.cluster.local', 'AAAA', ['db.dnstest.svc.cluster.local. AAAA fd00:10:244::6:1']],
    ['db-0.db.dnstest.svc.cluster.local', 'A', ['db-0.db.dnstest.svc.cluster.local. A 10.244.6.1']],
    ['busybox-1.default-subdomain.dnstest.svc.cluster.local', 'A', ['busybox-1.default-subdomain.dnstest.svc.cluster.local. A 10.244.7.1']],
    ['10-244-6-3.db.dnstest.svc.cluster.local', 'A', ['10-244-6-3.db.dnstest.svc.cluster.local. A 10.244.6.3']],
    ['_http._tcp.web.dnstest.svc.cluster.local', 'SRV', ['_http._tcp.web.dnstest.svc.cluster.local. SRV 0 100 80 web.dnstest.svc.cluster.local.']],
    ['_dns._udp.web.dnstest.svc.cluster.local', 'SRV', ['_dns._udp.web.dnstest.svc.cluster.local. SRV 0 100 53 web.dnstest.svc.cluster.local.']],
    ['web.dnstest.svc.cluster.local', 'SRV', ['web.dnstest.svc.cluster.local. SRV 0 50 53 web.dnstest.svc.cluster.local.', 'web.dnstest.svc.cluster.local. SRV 0 50 80 web.dnstest.svc.cluster.local.']],
    ['1.50.96.10.in-addr.arpa', 'PTR', ['1.50.96.10.in-addr.arpa. PTR web.dnstest.svc.cluster.local.']],
    ['1.6.244.10.in-addr.arpa', 'PTR', ['1.6.244.10.in-addr.arpa. PTR db-0.db.dnstest.svc.cluster.local.']],
    ['ext.dnstest.svc.cluster.local', 'CNAME', ['ext.dnstest.svc.cluster.local. CNAME ext-target.example.test.']],
    ['ext.dnstest.svc.cluster.local', 'A', ['ext-target.example.test. A 192.0.2.20', 'ext.dnstest.svc.cluster.local. CNAME ext-target.example.test.']],
    ['dns-version.cluster.local', 'TXT', ['dns-version.cluster.local. TXT "1.1.0"']],
    ['10-244-9-9.dnstest.pod.cluster.local', 'A', ['10-244-9-9.dnstest.pod.cluster.local. A 10.244.9.9']],
    ['10-244-9-9.quiet.pod.cluster.local', 'A', ['10-244-9-9.quiet.pod.cluster.local. A 10.244.9.9']],
    ['www.example.test', 'A', ['www.example.test. A 192.0.2.10']],
  ])('%s %s', async (name, type, expected) => {
    const r = await q(name, type);
    expect(r.status).toBe('NOERROR');
    if (expected.length > 0) expect(rrs(r.answer)).toEqual(expected);
  });

  it('headless SRV: one record per ready endpoint name and port, their addresses in the additional section', async () => {
    const r = await q('_pg._tcp.db.dnstest.svc.cluster.local', 'SRV');
    expect(rrs(r.answer)).toEqual([
      '_pg._tcp.db.dnstest.svc.cluster.local. SRV 0 33 5432 10-244-6-3.db.dnstest.svc.cluster.local.',
      '_pg._tcp.db.dnstest.svc.cluster.local. SRV 0 33 5432 db-0.db.dnstest.svc.cluster.local.',
      '_pg._tcp.db.dnstest.svc.cluster.local. SRV 0 33 5432 db-1.db.dnstest.svc.cluster.local.',
    ]);
    expect(rrs(r.additional)).toEqual([
      '10-244-6-3.db.dnstest.svc.cluster.local. A 10.244.6.3',
      'db-0.db.dnstest.svc.cluster.local. A 10.244.6.1',
      'db-0.db.dnstest.svc.cluster.local. AAAA fd00:10:244::6:1',
      'db-1.db.dnstest.svc.cluster.local. A 10.244.6.2',
    ]);
  });

  it('cluster IPs left unset are the ones `run` allocates', async () => {
    const loaded = await loadManifests([manifests]);
    const auto = loaded.events.flatMap((e) => (e.type === 'service-upsert' && e.service.name === 'auto' ? [e.service] : []))[0];
    expect(auto?.clusterIPs[0]).toMatch(/^10\.(9[6-9]|1[01][0-9])\./);
    const r = await q('auto.dnstest.svc.cluster.local', 'A');
    expect(rrs(r.answer)).toEqual([`auto.dnstest.svc.cluster.local. A ${auto?.clusterIPs[0]}`]);
  });

  it.each([
    ['nosuch.dnstest.svc.cluster.local', 'A'],
    ['web.nosuchns.svc.cluster.local', 'A'],
    ['nosuchns.svc.cluster.local', 'A'],
    ['10-244-6-4.db.dnstest.svc.cluster.local', 'A'], // not ready
    ['10-244-6-5.db.dnstest.svc.cluster.local', 'A'], // terminating
    ['_nope._tcp.web.dnstest.svc.cluster.local', 'SRV'],
    ['x.web.dnstest.svc.cluster.local', 'A'],
    ['foo.cluster.local', 'A'],
    ['10-244-9-300.dnstest.pod.cluster.local', 'A'],
  ])('NXDOMAIN with the SOA: %s %s', async (name, type) => {
    const r = await q(name, type);
    expect(r.status).toBe('NXDOMAIN');
    expect(r.answer).toEqual([]);
    expect(r.authority).toHaveLength(1);
    expect(r.authority[0]).toMatch(SOA);
    expect(r.flags).toContain('aa');
  });

  it.each([
    ['web.dnstest.svc.cluster.local', 'AAAA'],
    ['web.dnstest.svc.cluster.local', 'TXT'],
    ['dnstest.svc.cluster.local', 'A'],
    ['svc.cluster.local', 'A'],
    ['cluster.local', 'A'],
    ['_tcp.web.dnstest.svc.cluster.local', 'SRV'],
    ['quiet.svc.cluster.local', 'A'], // a Namespace object without services
  ])('NODATA with the SOA: %s %s', async (name, type) => {
    const r = await q(name, type);
    expect(r.status).toBe('NOERROR');
    expect(r.answer).toEqual([]);
    expect(r.authority[0]).toMatch(SOA);
  });

  it('keeps the question\'s case', async () => {
    const r = await q('WeB.DnsTest.SVC.cluster.LOCAL', 'A');
    expect(rrs(r.answer)).toEqual(['WeB.DnsTest.SVC.cluster.LOCAL. A 10.96.50.1']);
  });

  it('truncates over UDP to the EDNS0 buffer and serves 1,000 endpoints over TCP', async () => {
    const small = await q('big.dnstest.svc.cluster.local', 'A', '+bufsize=1232', '+ignore');
    expect(small.flags).toContain('tc');
    expect(small.answer).toEqual([]);
    const noEdns = await q('db.dnstest.svc.cluster.local', 'A', '+noedns');
    expect(noEdns.answer).toHaveLength(3); // fits in 512 bytes
    const tcp = await q('big.dnstest.svc.cluster.local', 'A', '+tcp');
    expect(tcp.flags).not.toContain('tc');
    expect(tcp.answer).toHaveLength(1000);
    const fallback = await q('big.dnstest.svc.cluster.local', 'A'); // dig retries over TCP on TC
    expect(fallback.answer).toHaveLength(1000);
    expect(fallback.raw).toMatch(/Truncated, retrying in TCP mode/);
  });

  it('compresses names, so 24 records fit in 512 bytes without EDNS0', async () => {
    const name = 'wide.dnstest.svc.cluster.local';
    const r = await q(name, 'A', '+noedns');
    expect(r.flags).not.toContain('tc');
    expect(rrs(r.answer)).toEqual(Array.from({ length: 24 }, (_, i) => `${name}. A 10.246.0.${i + 1}`).sort());
    const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(r.raw)?.[1]);
    const wireName = name.length + 2;
    const uncompressed = 12 + wireName + 4 + 24 * (wireName + 10 + 4);
    expect(uncompressed).toBeGreaterThan(512);
    expect(size).toBe(12 + wireName + 4 + 24 * (2 + 10 + 4)); // every owner name a 2-byte pointer
  });

  it('passes a truncated upstream answer on with TC', async () => {
    const r = await q('big.example.test', 'A', '+noedns', '+ignore');
    expect(r.flags).toContain('tc');
    const full = await q('big.example.test', 'A', '+tcp');
    expect(full.answer).toHaveLength(60);
  });

  it('caches upstream answers (positive and negative)', async () => {
    upstream.queries = [];
    await q('www.example.test', 'A');
    await q('www.example.test', 'A');
    await q('nx.example.test', 'A');
    const nx = await q('nx.example.test', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(upstream.queries.filter((x) => x.startsWith('www.example.test')).length).toBeLessThanOrEqual(1);
    expect(upstream.queries.filter((x) => x.startsWith('nx.example.test'))).toHaveLength(1);
  });

  it('answers SERVFAIL when the upstream does not answer', async () => {
    const r = await q('slow.example.test', 'A');
    expect(r.status).toBe('SERVFAIL');
  });

  it('refuses what it does not implement, and malformed questions', async () => {
    expect((await q('version.bind', 'TXT', '-c', 'CH')).status).toBe('NOTIMP');
    expect((await q('cluster.local', 'AXFR')).raw).toMatch(/Transfer failed/);
    expect((await q('web.dnstest.svc.cluster.local', '+opcode=status')).status).toBe('NOTIMP');
    expect((await q('web.dnstest.svc.cluster.local', '+header-only')).status).toBe('FORMERR');
  });
});

describe('svcplane dns upstreams and updates', () => {
  let dir: string;
  let upstream: FakeUpstream;
  const procs: DnsProcess[] = [];

  beforeAll(async () => {
    requireTool('dig');
    dir = tempDir('failover');
    upstream = await new FakeUpstream(`${TEST_NET}.4`, PORT, (question) => ({ answers: [a(question.name, '192.0.2.44')] })).start();
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await upstream?.stop();
    if (dir) cleanup(dir);
  });

  it('fails over to the next upstream, and answers SERVFAIL when none answers', async () => {
    const manifests = join(dir, 'one.yaml');
    writeManifests(manifests, clusterDocs().slice(0, 2));
    // Nothing listens on .9: the first upstream never answers.
    const failover = await DnsProcess.start(['--manifests', manifests, '--listen', `${TEST_NET}.5:${PORT}`, '--upstream', `${TEST_NET}.9:${PORT}`, '--upstream', `${upstream.host}:${upstream.port}`]);
    procs.push(failover);
    const r = await dig(`${TEST_NET}.5`, PORT, ['www.example.test', 'A', '+time=5']);
    expect(rrs(r.answer)).toEqual(['www.example.test. A 192.0.2.44']);
    const dead = await DnsProcess.start(['--manifests', manifests, '--listen', `${TEST_NET}.6:${PORT}`, '--upstream', `${TEST_NET}.9:${PORT}`]);
    procs.push(dead);
    expect((await dig(`${TEST_NET}.6`, PORT, ['www.example.test', 'A', '+time=5'])).status).toBe('SERVFAIL');
  });

  it('a service added to the manifests resolves, and removed is NXDOMAIN, within a second', async () => {
    const manifests = join(dir, 'update');
    mkdirSync(manifests);
    writeManifests(join(manifests, 'base.yaml'), clusterDocs().slice(0, 2));
    const server = await DnsProcess.start(['--manifests', manifests, '--listen', `${TEST_NET}.7:${PORT}`, '--upstream', `${upstream.host}:${upstream.port}`]);
    procs.push(server);
    const name = 'late.dnstest.svc.cluster.local';
    const waitFor = async (status: string): Promise<number> => {
      const t0 = Date.now();
      for (;;) {
        const r = await dig(`${TEST_NET}.7`, PORT, [name, 'A']);
        if (r.status === status) {
          process.stderr.write(`${name} ${status} after ${Date.now() - t0} ms\n`);
          return Date.now() - t0;
        }
        if (Date.now() - t0 > 5000) throw new Error(`${name} still ${r.status} after 5 s`);
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    expect((await dig(`${TEST_NET}.7`, PORT, [name, 'A'])).status).toBe('NXDOMAIN');
    const late = join(manifests, 'late.yaml');
    writeManifests(late, [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'dnstest' }, spec: { clusterIP: '10.96.50.77', ports: [{ port: 80 }] } }]);
    expect(await waitFor('NOERROR')).toBeLessThan(1000);
    expect(rrs((await dig(`${TEST_NET}.7`, PORT, [name, 'A'])).answer)).toEqual([`${name}. A 10.96.50.77`]);
    rmSync(late);
    expect(await waitFor('NXDOMAIN')).toBeLessThan(1000);
  });
});
