// The route table as an nginx.conf. Every user string goes through
// nginx-escape; each line that comes from an Ingress records its owner, so
// that a config nginx -t refuses can be traced back to the Ingress to leave out.
import type { TLSSecret } from '../model/ingress-types.js';
import { NginxRenderError, quote, regexLiteral, rewriteReplacement, serverName, token, withoutVariables } from './nginx-escape.js';
import type { Route, RouteTable, Server } from './route-table.js';
import type { Upstream } from './upstreams.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface RenderOptions {
  readonly http: ListenAddress;
  readonly https: ListenAddress;
  /** Everything nginx writes (pid, logs, temp files) goes under this prefix. */
  readonly stateDir: string;
  /** The combined certificate + key file for a Secret (undefined: the default certificate). */
  readonly certFile: (secret: TLSSecret | undefined) => string;
  readonly workerProcesses?: number | 'auto';
}

export interface RenderedConfig {
  readonly text: string;
  /** 1-based line number -> `namespace/name` of the Ingress the line came from. */
  readonly owners: ReadonlyMap<number, string>;
  /** `text` in parts: everything before the first server block (the upstreams included), then each server block. */
  readonly prelude: string;
  readonly servers: readonly string[];
}

/**
 * A config of `rendered`'s prelude and only those of its server blocks that `applied`
 * (the servers of the running config) lacks: what a change adds, for an `nginx -t` that
 * does not parse the unchanged servers again (about 70 us each, 3 ms each with TLS).
 */
export function changedPartsConfig(rendered: RenderedConfig, applied: ReadonlySet<string>): string {
  const changed = rendered.servers.filter((server) => !applied.has(server));
  return `${[rendered.prelude, ...changed, '}'].join('\n')}\n`;
}

class Writer {
  readonly lines: string[] = [];
  readonly owners = new Map<number, string>();
  private depth = 0;
  line(text: string, owner?: string): void {
    this.lines.push(`${'    '.repeat(this.depth)}${text}`);
    if (owner !== undefined) this.owners.set(this.lines.length, owner);
  }
  open(text: string, owner?: string): void {
    this.line(`${text} {`, owner);
    this.depth++;
  }
  close(): void {
    this.depth--;
    this.line('}');
  }
}

function listen(address: ListenAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return token(`${host}:${address.port}`);
}

// ingress-nginx's request headers towards upstreams (use-forwarded-headers off:
// the client's own X-Forwarded-* are replaced, not trusted).
const PROXY_HEADERS = [
  'proxy_http_version 1.1;',
  'proxy_set_header Host $best_http_host;',
  'proxy_set_header X-Request-ID $request_id;',
  'proxy_set_header X-Real-IP $remote_addr;',
  'proxy_set_header X-Forwarded-For $remote_addr;',
  'proxy_set_header X-Forwarded-Host $best_http_host;',
  'proxy_set_header X-Forwarded-Port $server_port;',
  'proxy_set_header X-Forwarded-Proto $scheme;',
  'proxy_set_header X-Forwarded-Scheme $scheme;',
  'proxy_set_header X-Scheme $scheme;',
  'proxy_set_header X-Original-URI $request_uri;',
  'proxy_set_header Upgrade $http_upgrade;',
  'proxy_set_header Connection $connection_upgrade;',
  'proxy_set_header Proxy "";',
  'proxy_connect_timeout 5s;',
  'proxy_next_upstream error timeout;',
];

export function renderNginxConfig(table: RouteTable, options: RenderOptions): RenderedConfig {
  const w = new Writer();
  const dir = options.stateDir.replace(/\/+$/, '');
  w.line('# Written by svcplane ingress; replaced on every change.');
  w.line(`worker_processes ${options.workerProcesses ?? 'auto'};`);
  w.line(`pid ${quote(`${dir}/nginx.pid`)};`);
  w.line(`error_log ${quote(`${dir}/logs/error.log`)} notice;`);
  // As ingress-nginx: a reload's old workers finish their requests, but long-lived
  // connections (WebSockets, slow downloads) may not keep them alive for ever.
  w.line('worker_shutdown_timeout 240s;');
  w.open('events');
  w.line('worker_connections 8192;');
  w.close();
  w.open('http');
  w.line('access_log off;');
  w.line('server_tokens off;');
  w.line('default_type text/plain;');
  for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) w.line(`${kind}_temp_path ${quote(`${dir}/tmp/${kind}`)};`);
  w.line('server_names_hash_max_size 65536;');
  w.line('server_names_hash_bucket_size 256;');
  w.line('keepalive_requests 10000;');
  w.line('ssl_protocols TLSv1.2 TLSv1.3;');
  w.line('ssl_session_cache shared:svcplane_ssl:10m;');
  w.open('map $http_upgrade $connection_upgrade');
  w.line('default upgrade;');
  w.line("'' '';");
  w.close();
  w.open('map $http_host $best_http_host');
  w.line('default $http_host;');
  w.line("'' $host;");
  w.close();
  for (const line of PROXY_HEADERS) w.line(line);
  for (const upstream of [...table.upstreams.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) renderUpstream(w, upstream);
  const prelude = w.lines.join('\n');
  const servers: string[] = [];
  for (const server of table.servers) {
    const start = w.lines.length;
    renderServer(w, server, table.defaultUpstream, options);
    servers.push(w.lines.slice(start).join('\n'));
  }
  w.close();
  return { text: `${w.lines.join('\n')}\n`, owners: w.owners, prelude, servers };
}

function renderUpstream(w: Writer, upstream: Upstream): void {
  if (upstream.servers.length === 0) return;
  w.open(`upstream ${token(upstream.name)}`);
  for (const server of upstream.servers) w.line(`server ${token(server)} max_fails=0;`);
  // Through a cluster IP each connection is balanced once by the L4 dataplane:
  // recycling pooled connections keeps requests spread over the endpoints.
  w.line(upstream.viaClusterIP ? 'keepalive 16;' : 'keepalive 32;');
  w.line(upstream.viaClusterIP ? 'keepalive_requests 100;' : 'keepalive_requests 1000;');
  w.line('keepalive_timeout 60s;');
  w.close();
}

function redirectPort(options: RenderOptions): string {
  return options.https.port === 443 ? '' : `:${options.https.port}`;
}

function renderServer(w: Writer, server: Server, defaultUpstream: string | undefined, options: RenderOptions): void {
  const owner = server.routes[0]?.owner;
  w.open('server', owner);
  const catchAll = server.host === '';
  const flag = catchAll ? ' default_server' : '';
  w.line(`listen ${listen(options.http)}${flag};`);
  // nginx loads a certificate per TLS server at every reload (seconds for
  // thousands): hosts without TLS serve HTTP only; HTTPS for them reaches the
  // catch-all server, which has the default certificate.
  if (catchAll || server.tls !== undefined) {
    w.line(`listen ${listen(options.https)} ssl${flag};`);
    const cert = quote(options.certFile(server.tls?.secret));
    w.line(`ssl_certificate ${cert};`);
    w.line(`ssl_certificate_key ${cert};`);
  }
  w.line(`server_name ${catchAll ? '_' : serverName(server.host)};`, owner);
  if (server.appRoot !== undefined) {
    w.open('if ($uri = /)', owner);
    w.line(`return 302 ${quote(`$scheme://$best_http_host${withoutVariables(server.appRoot)}`)};`, owner);
    w.close();
  }
  const exactPaths = new Set(server.routes.filter((r) => r.match === 'exact').map((r) => r.path));
  let hasRoot = false;
  for (const route of server.routes) {
    if (route.match === 'prefix' && route.path === '/') hasRoot = true;
    try {
      renderRoute(w, route, server, exactPaths, options);
    } catch (err) {
      if (err instanceof NginxRenderError) err.owner ??= route.owner;
      throw err;
    }
  }
  if (!hasRoot) {
    w.open('location /');
    if (server.tls !== undefined) redirect(w, options, undefined);
    proxyOrStatus(w, defaultUpstream, 404, undefined);
    w.close();
  }
  w.close();
}

function redirect(w: Writer, options: RenderOptions, owner: string | undefined): void {
  w.open('if ($scheme = http)', owner);
  w.line(`return 308 https://$host${redirectPort(options)}$request_uri;`, owner);
  w.close();
}

function proxyOrStatus(w: Writer, upstream: string | undefined, status: number, owner: string | undefined): void {
  if (upstream === undefined) w.line(`return ${status};`, owner);
  else w.line(`proxy_pass http://${token(upstream)};`, owner);
}

/** The location(s) of one route; see route-table.ts for the order they come in. */
function renderRoute(w: Writer, route: Route, server: Server, exactPaths: ReadonlySet<string>, options: RenderOptions): void {
  const body = (): void => {
    if (route.sslRedirect) redirect(w, options, route.owner);
    if (route.rewriteTarget !== undefined) {
      const pattern = route.match === 'regex' ? route.path : regexLiteral(route.path);
      w.line(`rewrite ${quote(`(?i)${pattern}`)} ${rewriteReplacement(route.rewriteTarget)} break;`, route.owner);
    }
    proxyOrStatus(w, route.upstream, 503, route.owner);
  };
  const block = (head: string): void => {
    w.open(`location ${head}`, route.owner);
    body();
    w.close();
  };
  switch (route.match) {
    case 'exact':
      block(`= ${quote(route.path)}`);
      return;
    case 'regex':
      block(`~* ${quote(`^${route.path}`)}`);
      return;
    case 'prefix':
      if (route.path === '/') {
        block('/');
      } else if (server.regex) {
        // Element-wise and case-sensitive, evaluated in order with the server's regexes.
        block(`~ ${quote(`^${regexLiteral(route.path)}(/|$)`)}`);
      } else {
        if (!exactPaths.has(route.path)) block(`= ${quote(route.path)}`);
        block(quote(`${route.path}/`));
      }
  }
}
