// Bad Ingresses beside good ones, against real nginx: each is reported with
// its object and field and left out; the good ones keep serving; no injection
// attempt reaches nginx.conf. Also rewrite captures, use-regex and app-root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressBed } from './ingress-bed.js';


function ingress(name: string, host: string, paths: readonly { path: string; pathType?: string; service?: string; port?: number }[], annotations: Record<string, string> = {}, extra = ''): string {
  const ann = Object.entries(annotations).map(([k, v]) => `\n    ${k}: ${JSON.stringify(v)}`).join('');
  const list = paths
    .map((p) => `\n      - path: ${JSON.stringify(p.path)}\n        pathType: ${p.pathType ?? 'Prefix'}\n        backend:\n          service:\n            name: ${p.service ?? 'service1'}\n            port:\n              number: ${p.port ?? 80}`)
    .join('');
  return `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ${name}\n  annotations: {}${ann ? ann.replace(/^/, '') : ''}\nspec:${extra}\n  rules:\n  - host: ${host}\n    http:\n      paths:${list}\n`.replace('annotations: {}\n    ', 'annotations:\n    ');
}

describe('bad input and annotations through nginx', () => {
  const bed = new IngressBed(`b${process.pid % 100000}`);
  const files: Record<string, string> = {};

  beforeAll(async () => {
    await bed.up();
    Object.assign(files, {
      'services.yaml': bed.fixture('services.yaml'),
      'good.yaml': ingress('good', 'good.example', [{ path: '/' }]),
      'captures.yaml': ingress('captures', 'rw.example', [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'service2' }], { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }),
      'regex.yaml': ingress('regex', 're.example', [{ path: '/v[0-9]+/items', pathType: 'ImplementationSpecific' }], { 'nginx.ingress.kubernetes.io/use-regex': 'true' }),
      // On the same host, from an Ingress without use-regex: its Prefix path stays element-wise.
      'regex-static.yaml': ingress('regex-static', 're.example', [{ path: '/static', service: 'service3' }]),
      'wildcard.yaml': ingress('wildcard', '"*.wild.example"', [{ path: '/', service: 'service3' }]),
      'approot.yaml': ingress('approot', 'app.example', [{ path: '/' }], { 'nginx.ingress.kubernetes.io/app-root': '/dashboard' }),
      'inject-path.yaml': ingress('inject-path', 'good.example', [{ path: '/x;} server { listen 9999; } location /y {' }]),
      'inject-host.yaml': ingress('inject-host', 'evil.example; return 200', [{ path: '/' }]),
      'inject-rewrite.yaml': ingress('inject-rewrite', 'evil2.example', [{ path: '/a', pathType: 'ImplementationSpecific' }], { 'nginx.ingress.kubernetes.io/rewrite-target': '/$http_authorization' }),
      'inject-newline.yaml': ingress('inject-newline', 'evil3.example', [{ path: '/a\n}\nserver {', pathType: 'ImplementationSpecific' }], { 'nginx.ingress.kubernetes.io/use-regex': 'true' }),
      'bad-regex.yaml': ingress('bad-regex', 'evil4.example', [{ path: '/a(', pathType: 'ImplementationSpecific' }], { 'nginx.ingress.kubernetes.io/use-regex': 'true' }),
      // JavaScript accepts a variable-length lookbehind, PCRE does not: only nginx -t can refuse it.
      'pcre-only.yaml': ingress('pcre-only', 'evil5.example', [{ path: '/b(?<=a+)', pathType: 'ImplementationSpecific' }], { 'nginx.ingress.kubernetes.io/use-regex': 'true' }),
      'missing-service.yaml': ingress('missing-service', 'good.example', [{ path: '/gone', service: 'nope' }]),
      'unknown-type.yaml': ingress('unknown-type', 'evil6.example', [{ path: '/a', pathType: 'Glob' }]),
      'bad-secret.yaml': `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: not-a-cert\ndata:\n  tls.crt: ${Buffer.from('hello').toString('base64')}\n  tls.key: ${Buffer.from('world').toString('base64')}\n---\n${ingress('tls-bad', 'tls.example', [{ path: '/' }], {}, '\n  tls:\n  - hosts: [tls.example]\n    secretName: not-a-cert')}`,
    });
    bed.writeManifests(files);
    await bed.startController(['--service-upstream', 'false']);
    await bed.waitFor(async () => (await bed.get('good.example', '/')).echo?.local === '10.231.1.12:80', 'the good Ingress to serve');
  }, 60_000);
  afterAll(async () => bed.down(), 30_000);

  it('reports each bad object with its field', async () => {
    await bed.waitFor(() => bed.log.includes('pcre-only'), 'the nginx -t refusal to be reported');
    const expected = [
      /Ingress default\/inject-path: spec\.rules\[0\]\.http\.paths\[0\]\.path: invalid value/,
      /Ingress default\/inject-host: spec\.rules\[0\]\.host: invalid value "evil\.example; return 200"/,
      /Ingress default\/inject-rewrite: metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/rewrite-target\]: invalid value/,
      /Ingress default\/inject-newline: spec\.rules\[0\]\.http\.paths\[0\]\.path: .*control characters/,
      /Ingress default\/bad-regex: spec\.rules\[0\]\.http\.paths\[0\]\.path: .*not a valid regular expression/,
      /Ingress default\/pcre-only: nginx refused its configuration .*left out/,
      /Ingress default\/missing-service: spec\.rules\[0\]\.http\.paths\[0\]\.backend: service default\/nope not found/,
      /Ingress default\/unknown-type: spec\.rules\[0\]\.http\.paths\[0\]\.pathType: unsupported value "Glob"/,
      /Secret default\/not-a-cert: data\[tls\.crt\]: not a PEM-encoded X\.509 certificate/,
      /Ingress default\/tls-bad: spec\.tls\[0\]\.secretName: Secret default\/not-a-cert is missing or not a valid/,
    ];
    for (const pattern of expected) expect(bed.log).toMatch(pattern);
  });

  it('keeps the good Ingresses serving, and no injected text reaches nginx.conf', async () => {
    expect((await bed.get('good.example', '/anything')).echo?.local).toBe('10.231.1.12:80');
    expect((await bed.get('good.example', '/gone')).echo?.local).toBe('10.231.1.12:80');
    const conf = readFileSync(join(bed.stateDir, 'nginx.conf'), 'utf8');
    for (const text of ['9999', 'evil', 'return 200', 'http_authorization', '(?<=a+)']) expect(conf).not.toContain(text);
  });

  it('a TLS host whose Secret is invalid is served with the default certificate', async () => {
    const r = await bed.curl(['-k', '-v', '--resolve', 'tls.example:443:10.231.0.1', 'https://tls.example/']);
    expect(r.status).toBe(200);
  });

  it('rewrite-target with captures: /something/new -> /new, /something -> /', async () => {
    expect((await bed.get('rw.example', '/something/new/x?y=1')).echo).toMatchObject({ local: '10.231.1.13:80', url: '/new/x?y=1' });
    expect((await bed.get('rw.example', '/something')).echo?.url).toBe('/');
  });

  it('use-regex: regex paths match case-insensitively; another Ingress\'s Prefix on the host stays element-wise', async () => {
    expect((await bed.get('re.example', '/V12/items')).echo?.local).toBe('10.231.1.12:80');
    expect((await bed.get('re.example', '/static/a.css')).echo?.local).toBe('10.231.1.14:80');
    expect((await bed.get('re.example', '/staticfoo')).status).toBe(404);
  });

  it('a wildcard host matches exactly one more label', async () => {
    expect((await bed.get('a.wild.example', '/x')).echo?.local).toBe('10.231.1.14:80');
    expect((await bed.get('a.b.wild.example', '/x')).status).toBe(404);
    expect((await bed.get('wild.example', '/x')).status).toBe(404);
  });

  it('app-root redirects / and leaves other paths alone', async () => {
    const r = await bed.get('app.example', '/');
    expect(r.status).toBe(302);
    expect(r.headers).toMatch(/^Location: http:\/\/app\.example\/dashboard\r?$/m);
    expect((await bed.get('app.example', '/other')).echo?.url).toBe('/other');
  });

  it('a fixed Ingress is served on the next change', async () => {
    bed.writeManifests({ ...files, 'pcre-only.yaml': ingress('pcre-only', 'evil5.example', [{ path: '/b(a+)', pathType: 'ImplementationSpecific', service: 'service3' }], { 'nginx.ingress.kubernetes.io/use-regex': 'true' }) });
    await bed.waitFor(async () => (await bed.get('evil5.example', '/baa')).echo?.local === '10.231.1.14:80', 'the fixed Ingress to serve');
  });
});
