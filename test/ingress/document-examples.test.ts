// The source document's Ingress examples, as written, served by real nginx and
// checked with curl (-H Host / --resolve) and openssl s_client from another
// network namespace. One controller runs throughout; each example replaces the
// manifests, so every step is also an update of a running controller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressBed, NODE_IP } from './ingress-bed.js';
import { runCommand } from '../../src/kernel/exec.js';


describe('the document examples through nginx', () => {
  const bed = new IngressBed(`d${process.pid % 100000}`);

  beforeAll(async () => {
    await bed.up();
    bed.writeManifests({ 'services.yaml': bed.fixture('services.yaml') });
    await bed.startController(['--service-upstream', 'false']);
  }, 60_000);
  afterAll(async () => bed.down(), 30_000);

  async function use(example: string, probe: () => Promise<boolean>): Promise<void> {
    bed.writeManifests({ 'services.yaml': bed.fixture('services.yaml'), [example]: bed.fixture(`document/${example}`) });
    await bed.waitFor(probe, `${example} to serve`);
  }

  it('minimal Ingress: /testpath (rewrite-target /) on any host reaches test as /', async () => {
    await use('01-minimal.yaml', async () => (await bed.get(undefined, '/testpath')).echo?.local === '10.231.1.10:80');
    const r = await bed.get('anything.example', '/testpath/deeper?q=1');
    expect(r.echo?.local).toBe('10.231.1.10:80');
    // As in nginx (and ingress-nginx), the query string stays.
    expect(r.echo?.url).toBe('/?q=1');
    expect((await bed.get(undefined, '/other')).status).toBe(404);
  });

  it('single-service Ingress: everything goes to testsvc, paths unchanged', async () => {
    await use('02-single-service.yaml', async () => (await bed.get(undefined, '/x')).echo?.local === '10.231.1.11:80');
    const r = await bed.get('whatever.example', '/some/path?x=y');
    expect(r.echo).toMatchObject({ local: '10.231.1.11:80', url: '/some/path?x=y' });
  });

  it('simple fanout: foo.bar.com/foo -> service1:4200, /bar -> service2:8080, both rewritten to /', async () => {
    await use('03-simple-fanout.yaml', async () => (await bed.get('foo.bar.com', '/foo')).echo?.local === '10.231.1.12:4200');
    expect((await bed.get('foo.bar.com', '/foo/a/b')).echo).toMatchObject({ local: '10.231.1.12:4200', url: '/' });
    expect((await bed.get('foo.bar.com', '/bar')).echo).toMatchObject({ local: '10.231.1.13:8080', url: '/' });
    expect((await bed.get('foo.bar.com', '/baz')).status).toBe(404);
    expect((await bed.get('other.com', '/foo')).status).toBe(404);
  });

  it('name based virtual hosting: the Host header picks the service', async () => {
    await use('04-name-virtual-host.yaml', async () => (await bed.get('foo.bar.com', '/')).echo?.local === '10.231.1.12:80');
    expect((await bed.curl(['-H', 'Host: foo.bar.com', `http://${NODE_IP}/x`])).body).toContain('"local":"10.231.1.12:80"');
    expect((await bed.curl(['-H', 'Host: bar.foo.com', `http://${NODE_IP}/x`])).body).toContain('"local":"10.231.1.13:80"');
    expect((await bed.get('third.com', '/')).status).toBe(404);
  });

  it('virtual hosting with a catch-all: unknown hosts and bare IPs go to service3', async () => {
    await use('05-name-virtual-host-catch-all.yaml', async () => (await bed.get('nobody.example', '/')).echo?.local === '10.231.1.14:80');
    expect((await bed.get('first.bar.com', '/a')).echo?.local).toBe('10.231.1.12:80');
    expect((await bed.get('second.foo.com', '/a')).echo?.local).toBe('10.231.1.13:80');
    expect((await bed.get(undefined, '/a')).echo?.local).toBe('10.231.1.14:80');
  });

  it('TLS: SNI picks the Secret, plain HTTP redirects with 308, other names get the default certificate', async () => {
    await use('06-tls.yaml', async () => (await bed.get('sslexample.foo.com', '/')).status === 308);
    const redirect = await bed.get('sslexample.foo.com', '/a?b=c');
    expect(redirect.headers).toMatch(/^Location: https:\/\/sslexample\.foo\.com\/a\?b=c\r?$/m);
    const https = await bed.curl(['--cacert', 'test/fixtures/ingress/tls/sslexample.crt', '--resolve', `sslexample.foo.com:443:${NODE_IP}`, 'https://sslexample.foo.com/secure']);
    expect(https.status).toBe(200);
    expect(JSON.parse(https.body)).toMatchObject({ local: '10.231.1.12:80', url: '/secure', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' } });
    const subject = async (name: string): Promise<string> => {
      const r = await runCommand('openssl', ['s_client', '-connect', `${NODE_IP}:443`, '-servername', name], { netns: bed.client, input: '', timeoutMs: 5000 });
      return /subject=([^\n]*)/.exec(r.stdout)?.[1] ?? r.stderr;
    };
    expect(await subject('sslexample.foo.com')).toMatch(/CN ?= ?sslexample\.foo\.com/);
    expect(await subject('other.example')).toMatch(/svcplane ingress default certificate/);
  });

  it('www.shengzhe.com/app1 with rewrite-target / reaches my-service as /, with the forwarded headers', async () => {
    await use('07-shengzhe.yaml', async () => (await bed.get('www.shengzhe.com', '/app1')).echo?.local === '10.231.1.15:80');
    const r = await bed.curl(['-H', 'Host: www.shengzhe.com', '-H', 'X-Forwarded-For: 6.6.6.6', `http://${NODE_IP}/app1`]);
    const echo = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    expect(echo.url).toBe('/');
    expect(echo.headers).toMatchObject({
      host: 'www.shengzhe.com',
      'x-real-ip': '10.231.0.2',
      'x-forwarded-for': '10.231.0.2',
      'x-forwarded-host': 'www.shengzhe.com',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '80',
      'x-original-uri': '/app1',
    });
    expect(echo.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });
});
