// `svcplane dns --source kubernetes` against the fake API server on loopback: Services and
// Namespaces come from list/watch, an empty Namespace exists (NODATA) until it is deleted, and
// a Service created through the API answers (no debounce on this path; the time is printed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiService, FakeApiServer } from '../lib/fake-apiserver/index.js';
import { answersA } from '../../src/bench/dns-question.js';
import { dig, DnsProcess, requireTool, TEST_NET } from './dns-fixture.js';

const SERVER = `${TEST_NET}.30`;
const PORT = 5353;
const answered = (name: string): Promise<boolean> => answersA({ host: SERVER, port: PORT, name });

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
  }
  return performance.now() - t0;
}

describe('svcplane dns from the Kubernetes API', () => {
  let api: FakeApiServer;
  let server: DnsProcess;
  const q = (...args: string[]) => dig(SERVER, PORT, args);

  beforeAll(async () => {
    requireTool('dig');
    api = new FakeApiServer({ bookmarkIntervalMs: 1000 });
    await api.start();
    api.create('services', apiService('web', { namespace: 'shop', clusterIP: '10.96.70.1' }));
    api.create('namespaces', { metadata: { name: 'quiet' } });
    api.create('namespaces', { metadata: { name: 'shop' } });
    server = await DnsProcess.start(['--source', 'kubernetes', '--master', api.url, '--listen', `${SERVER}:${PORT}`, '--upstream', `${TEST_NET}.39:${PORT}`]);
  });

  afterAll(async () => {
    await server?.stop();
    await api?.stop();
  });

  it('lists and watches namespaces (the Namespace resource is asked for)', () => {
    expect(api.requests.some((r) => r.path === '/api/v1/namespaces')).toBe(true);
  });

  it('answers a listed Service, and NODATA for a Namespace without services', async () => {
    expect((await q('web.shop.svc.cluster.local', 'A')).answer).toEqual(['web.shop.svc.cluster.local. 5 IN A 10.96.70.1']);
    const quiet = await q('quiet.svc.cluster.local', 'A');
    expect(quiet.status).toBe('NOERROR');
    expect(quiet.answer).toEqual([]);
    expect(quiet.authority[0]).toMatch(/^cluster\.local\. 5 IN SOA /);
    expect((await q('10-244-1-1.quiet.pod.cluster.local', 'A')).answer).toEqual(['10-244-1-1.quiet.pod.cluster.local. 5 IN A 10.244.1.1']);
  });

  it('a deleted Namespace is NXDOMAIN; a new one exists', async () => {
    api.delete('namespaces', undefined, 'quiet');
    await until(async () => (await q('quiet.svc.cluster.local', 'A')).status === 'NXDOMAIN', 'quiet gone');
    api.create('namespaces', { metadata: { name: 'fresh' } });
    await until(async () => (await q('fresh.svc.cluster.local', 'A')).status === 'NOERROR', 'fresh there');
  });

  it('a Service created through the API answers (change -> answer printed)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `late-${i}.shop.svc.cluster.local`;
      expect(await answered(name)).toBe(false);
      const t0 = performance.now();
      api.create('services', apiService(`late-${i}`, { namespace: 'shop', clusterIP: `10.96.70.${i + 10}` }));
      await until(() => answered(name), name);
      times.push(performance.now() - t0);
    }
    process.stderr.write(`kubernetes source: change -> UDP answer ${times.map((t) => t.toFixed(1)).join(', ')} ms\n`);
  });
});
