// The source document's Ingress examples, as written (test/fixtures/ingress/document),
// through the manifest source, the route table and the nginx renderer.
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../cli/load-manifests.js';
import { IngressView } from './ingress-view.js';
import { renderNginxConfig } from './nginx-config.js';
import type { RouteTable } from './route-table.js';

const DIR = 'test/fixtures/ingress';

async function tableFor(example: string, options: { serviceUpstream?: boolean } = {}): Promise<{ table: RouteTable; view: IngressView }> {
  const { events, errors } = await loadManifests([`${DIR}/services.yaml`, `${DIR}/document/${example}`]);
  expect(errors.map((e) => e.message)).toEqual([]);
  const view = new IngressView({ className: 'svcplane', watchWithoutClass: true, serviceUpstream: options.serviceUpstream ?? true, nodeName: 'node-a' });
  view.apply(events);
  return { table: view.routeTable(), view };
}

function render(table: RouteTable): string {
  return renderNginxConfig(table, {
    http: { host: '0.0.0.0', port: 80 },
    https: { host: '0.0.0.0', port: 443 },
    stateDir: '/run/sp-test',
    certFile: (s) => (s === undefined ? '/run/sp-test/certs/default.pem' : `/run/sp-test/certs/${s.namespace}-${s.name}.pem`),
  }).text;
}

describe('the document examples', () => {
  it('minimal Ingress: /testpath with rewrite-target / on every host', async () => {
    const { table } = await tableFor('01-minimal.yaml');
    expect(table.problems).toEqual([]);
    const catchAll = table.servers.find((s) => s.host === '');
    expect(catchAll?.routes).toEqual([
      { match: 'regex', path: '/testpath', upstream: expect.stringMatching(/^cip_default_test_80$/), rewriteTarget: '/', sslRedirect: false, owner: 'default/test-ingress' },
    ]);
    const upstream = table.upstreams.get('cip_default_test_80');
    expect(upstream?.servers).toHaveLength(1);
    expect(upstream?.servers[0]).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+:80$/);
    const text = render(table);
    expect(text).toContain('location ~* "^/testpath" {');
    expect(text).toContain('rewrite "(?i)/testpath" "/" break;');
  });

  it('single-service Ingress: spec.backend is the default backend', async () => {
    const { table } = await tableFor('02-single-service.yaml');
    expect(table.problems).toEqual([]);
    expect(table.defaultUpstream).toBe('cip_default_testsvc_80');
    expect(table.servers.map((s) => [s.host, s.routes.length])).toEqual([['', 0]]);
    expect(render(table)).toMatch(/location \/ \{\n\s+proxy_pass http:\/\/cip_default_testsvc_80;/);
  });

  it('simple fanout: foo.bar.com /foo -> service1:4200, /bar -> service2:8080', async () => {
    const { table } = await tableFor('03-simple-fanout.yaml', { serviceUpstream: false });
    const server = table.servers.find((s) => s.host === 'foo.bar.com');
    expect(server?.routes.map((r) => [r.match, r.path, r.upstream, r.rewriteTarget])).toEqual([
      ['regex', '/foo', 'ep_default_service1_4200', '/'],
      ['regex', '/bar', 'ep_default_service2_8080', '/'],
    ]);
    expect(table.upstreams.get('ep_default_service1_4200')?.servers).toEqual(['10.231.1.12:4200']);
    expect(table.upstreams.get('ep_default_service2_8080')?.servers).toEqual(['10.231.1.13:8080']);
    expect(render(table)).toContain('server_name foo.bar.com;');
  });

  it('name based virtual hosting: one server per host, each routing / to its service', async () => {
    const { table } = await tableFor('04-name-virtual-host.yaml');
    expect(table.servers.map((s) => [s.host, s.routes.map((r) => `${r.match} ${r.path} ${r.upstream}`)])).toEqual([
      ['', []],
      ['bar.foo.com', ['prefix / cip_default_service2_80']],
      ['foo.bar.com', ['prefix / cip_default_service1_80']],
    ]);
  });

  it('virtual hosting with a catch-all: requests without a known host go to service3', async () => {
    const { table } = await tableFor('05-name-virtual-host-catch-all.yaml');
    expect(table.servers.map((s) => [s.host, s.routes.map((r) => r.upstream)])).toEqual([
      ['', ['cip_default_service3_80']],
      ['first.bar.com', ['cip_default_service1_80']],
      ['second.foo.com', ['cip_default_service2_80']],
    ]);
    const text = render(table);
    expect(text).toMatch(/listen 0\.0\.0\.0:80 default_server;\n\s+listen 0\.0\.0\.0:443 ssl default_server;\n(\s+ssl_certificate.*\n){2}\s+server_name _;/);
    // Hosts without TLS serve HTTP only (a certificate per server would make every reload load it).
    expect(text).toMatch(/listen 0\.0\.0\.0:80;\n\s+server_name first\.bar\.com;/);
  });

  it('TLS: the Secret serves sslexample.foo.com, whose plain HTTP redirects with 308', async () => {
    const { table } = await tableFor('06-tls.yaml');
    expect(table.problems).toEqual([]);
    const server = table.servers.find((s) => s.host === 'sslexample.foo.com');
    expect(server?.tls?.secret?.dnsNames).toEqual(['sslexample.foo.com']);
    expect(server?.routes[0]?.sslRedirect).toBe(true);
    const text = render(table);
    expect(text).toContain('ssl_certificate "/run/sp-test/certs/default-testsecret-tls.pem";');
    expect(text).toContain('return 308 https://$host$request_uri;');
  });

  it('www.shengzhe.com/app1 with rewrite-target / reaches my-service as /', async () => {
    const { table } = await tableFor('07-shengzhe.yaml');
    expect(table.problems).toEqual([]);
    const server = table.servers.find((s) => s.host === 'www.shengzhe.com');
    expect(server?.routes.map((r) => [r.match, r.path, r.upstream, r.rewriteTarget])).toEqual([['regex', '/app1', 'cip_default_my-service_80', '/']]);
    const text = render(table);
    expect(text).toContain('server_name www.shengzhe.com;');
    expect(text).toContain('rewrite "(?i)/app1" "/" break;');
  });
});
