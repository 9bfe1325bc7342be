import { describe, expect, it } from 'vitest';
import type { Ingress } from '../model/ingress-types.js';
import { makeService } from '../state/test-builders.js';
import { NginxRenderError, quote, regexLiteral, rewriteReplacement, serverName, token, withoutVariables } from './nginx-escape.js';
import { renderNginxConfig } from './nginx-config.js';
import { buildRouteTable, type RouteTable } from './route-table.js';

const OPTIONS = {
  http: { host: '10.0.0.1', port: 8080 },
  https: { host: '10.0.0.1', port: 8443 },
  stateDir: '/run/sp "dir"',
  certFile: () => '/run/cert.pem',
};

function tableWith(ingress: Ingress): RouteTable {
  const service = makeService({ name: 'web' });
  return buildRouteTable([ingress], { service: (k) => (k === 'default/web' ? service : undefined), slices: () => [] }, { secret: () => undefined });
}

function ingress(path: string, pathType: Ingress['rules'][number]['paths'][number]['pathType'], options: Partial<Ingress['options']> = {}, host = 'x.com'): Ingress {
  return {
    namespace: 'default',
    name: 'a',
    ingressClassName: undefined,
    defaultBackend: undefined,
    rules: [{ host, field: 'spec.rules[0]', paths: [{ path, pathType, backend: { service: 'web', port: 80 }, field: 'spec.rules[0].http.paths[0]' }] }],
    tls: [],
    options: { useRegex: false, rewriteTarget: undefined, appRoot: undefined, sslRedirect: undefined, serviceUpstream: undefined, ...options },
    createdAt: undefined,
    annotations: {},
  };
}

describe('nginx escaping', () => {
  it('quotes so that nginx reads back the same string', () => {
    expect(quote('a"b')).toBe('"a\\"b"');
    expect(quote('\\d+')).toBe('"\\\\d+"');
    expect(quote('a;b{c}$d')).toBe('"a;b{c}$d"');
  });

  it.each(['a\nb', 'a\rb', 'a\u0000b', 'a\tb'])('refuses control characters: %j', (value) => {
    expect(() => quote(value)).toThrow(NginxRenderError);
  });

  it.each(['a;b', 'a b', 'a{', 'a}', 'a"', '$x', 'a..b'])('refuses %j as a bare token', (value) => {
    expect(() => token(value)).toThrow(NginxRenderError);
  });

  it.each(['/$host', '/a;b', '/a b', '/a{', '/"', '/\\'])('refuses rewrite target %j', (value) => {
    expect(() => rewriteReplacement(value)).toThrow(NginxRenderError);
  });

  it('keeps $1..$9 in rewrite targets, and no other variable in interpolated text', () => {
    expect(rewriteReplacement('/$2')).toBe('"/$2"');
    expect(() => withoutVariables('/a$b')).toThrow(NginxRenderError);
  });

  it('escapes literal paths inside regexes and matches one label for a wildcard host', () => {
    expect(regexLiteral('/a.b(c)')).toBe('/a\\.b\\(c\\)');
    expect(serverName('*.example.com')).toBe('"~^[^.]+\\\\.example\\\\.com$"');
    expect(new RegExp('^[^.]+\\.example\\.com$').test('a.example.com')).toBe(true);
    expect(new RegExp('^[^.]+\\.example\\.com$').test('a.b.example.com')).toBe(false);
  });
});

describe('nginx config', () => {
  it('renders a Prefix path element-wise: = /foo and /foo/', () => {
    const { text } = renderNginxConfig(tableWith(ingress('/foo', 'Prefix')), OPTIONS);
    expect(text).toContain('location = "/foo" {');
    expect(text).toContain('location "/foo/" {');
    expect(text).toContain('pid "/run/sp \\"dir\\"/nginx.pid";');
    expect(text).toContain('worker_shutdown_timeout 240s;');
  });

  it('a regex path with a } and a quote stays inside its string', () => {
    const { text } = renderNginxConfig(tableWith(ingress('/a{2}"}; return 200 "x', 'ImplementationSpecific', { useRegex: true })), OPTIONS);
    expect(text).toContain('location ~* "^/a{2}\\"}; return 200 \\"x" {');
    expect(text.split('\n').filter((l) => l.includes('return 200'))).toHaveLength(1);
  });

  it('renders the rewrite of the documented capture example', () => {
    const { text } = renderNginxConfig(tableWith(ingress('/something(/|$)(.*)', 'ImplementationSpecific', { useRegex: true, rewriteTarget: '/$2' })), OPTIONS);
    expect(text).toContain('location ~* "^/something(/|$)(.*)" {');
    expect(text).toContain('rewrite "(?i)/something(/|$)(.*)" "/$2" break;');
  });

  it('records which Ingress each route line came from', () => {
    const rendered = renderNginxConfig(tableWith(ingress('/foo', 'Exact')), OPTIONS);
    const lines = rendered.text.split('\n');
    const line = lines.findIndex((l) => l.includes('location = "/foo"')) + 1;
    expect(rendered.owners.get(line)).toBe('default/a');
  });

  it('refuses a rewrite target that would read a variable even if validation missed it', () => {
    expect(() => renderNginxConfig(tableWith(ingress('/foo', 'Prefix', { rewriteTarget: '/$host' })), OPTIONS)).toThrow(expect.objectContaining({ owner: 'default/a', code: 'SVCPLANE_NGINX_RENDER' }));
  });
});
