// The served Ingresses merged into one route table: a server per host (plus the
// catch-all for rules without a host), its routes, TLS and default backend.
// Conflicts are resolved deterministically (the oldest Ingress wins) and
// reported; a backend that does not resolve is reported and left out.
import { ValidationError } from '../model/errors.js';
import type { Ingress, IngressBackend, IngressPath, TLSSecret } from '../model/ingress-types.js';
import { resolveBackend, type ServiceLookup, type Upstream } from './upstreams.js';

/** exact: `= path`; prefix: element-wise prefix; regex: a user's expression (case-insensitive, as ingress-nginx). */
export type RouteMatch = 'exact' | 'prefix' | 'regex';

export interface Route {
  readonly match: RouteMatch;
  /** Literal for exact and prefix (prefix without its trailing slash, except "/"); the expression for regex. */
  readonly path: string;
  /** undefined: the backend has no usable endpoint (503). */
  readonly upstream: string | undefined;
  /** rewrite-target: the URI is replaced by `target` when `path` (as a regex, case-insensitive) matches. */
  readonly rewriteTarget: string | undefined;
  readonly sslRedirect: boolean;
  /** `namespace/name` of the Ingress it came from. */
  readonly owner: string;
}

export interface ServerTLS {
  /** undefined: the self-signed default certificate (no Secret named, or the Secret is missing/invalid). */
  readonly secret: TLSSecret | undefined;
}

export interface Server {
  /** '' for the catch-all server; `*.example.com` for a wildcard. */
  readonly host: string;
  readonly tls: ServerTLS | undefined;
  readonly appRoot: string | undefined;
  /** Exact routes first, then the others by decreasing path length; ties keep the oldest Ingress first. */
  readonly routes: readonly Route[];
  /** True when a route is a regex: nginx then evaluates the literal prefixes as regexes too, in order. */
  readonly regex: boolean;
}

export interface RouteTable {
  /** The catch-all server first, then by host. */
  readonly servers: readonly Server[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Where unmatched requests go; undefined: a built-in 404. */
  readonly defaultUpstream: string | undefined;
  readonly problems: readonly ValidationError[];
}

export interface RouteOptions {
  /** --default-backend: used when no Ingress defines one. */
  readonly defaultBackend?: { readonly namespace: string; readonly backend: IngressBackend };
  /** Proxy to cluster IPs unless an Ingress says otherwise (default true). */
  readonly serviceUpstream?: boolean;
  readonly nodeName?: string;
  readonly secret: (key: string) => TLSSecret | undefined;
}

interface HostDraft {
  tls: ServerTLS | undefined;
  tlsOwner: { owner: string; secretName: string } | undefined;
  appRoot: string | undefined;
  readonly routes: Map<string, Route>;
}

/** Oldest first: creation time (unset counts as newest), then namespace/name. */
export function byAge(a: Ingress, b: Ingress): number {
  const ta = a.createdAt ?? Infinity;
  const tb = b.createdAt ?? Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function problem(ingress: Ingress, field: string, reason: string): ValidationError {
  return new ValidationError({ kind: 'Ingress', namespace: ingress.namespace, name: ingress.name }, field, reason);
}

function routeKey(match: RouteMatch, path: string): string {
  return `${match} ${path}`;
}

function literalPrefix(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') || '/' : path;
}

function coversHost(names: readonly string[], host: string): boolean {
  return names.some((n) => n === host || (n.startsWith('*.') && host.endsWith(n.slice(1)) && !host.slice(0, -n.length + 1).includes('.')));
}

export function buildRouteTable(ingresses: readonly Ingress[], lookup: ServiceLookup, options: RouteOptions): RouteTable {
  const sorted = [...ingresses].sort(byAge);
  const problems: ValidationError[] = [];
  const upstreams = new Map<string, Upstream>();
  const hosts = new Map<string, HostDraft>([['', { tls: undefined, tlsOwner: undefined, appRoot: undefined, routes: new Map() }]]);
  const draft = (host: string): HostDraft => {
    let d = hosts.get(host);
    if (d === undefined) {
      d = { tls: undefined, tlsOwner: undefined, appRoot: undefined, routes: new Map() };
      hosts.set(host, d);
    }
    return d;
  };
  // Many routes name one service port (1,000 Ingresses on one backend in the bench): resolve each once.
  const resolutions = new Map<string, ReturnType<typeof resolveBackend>>();
  const upstreamFor = (ingress: Ingress, backend: IngressBackend, field: string): { ok: boolean; name: string | undefined } => {
    const viaClusterIP = ingress.options.serviceUpstream ?? options.serviceUpstream ?? true;
    const key = `${ingress.namespace}/${backend.service}:${typeof backend.port}:${backend.port}:${viaClusterIP}`;
    let resolved = resolutions.get(key);
    if (resolved === undefined) {
      resolved = resolveBackend(lookup, ingress.namespace, backend, viaClusterIP, options.nodeName ?? '');
      resolutions.set(key, resolved);
    }
    if (!resolved.ok) {
      problems.push(problem(ingress, field, `${resolved.reason}; left out`));
      return { ok: false, name: undefined };
    }
    upstreams.set(resolved.upstream.name, resolved.upstream);
    return { ok: true, name: resolved.upstream.servers.length > 0 ? resolved.upstream.name : undefined };
  };

  // TLS first: a host's redirect depends on it, whichever Ingress declares it.
  for (const ingress of sorted) {
    const owner = `${ingress.namespace}/${ingress.name}`;
    for (const tls of ingress.tls) {
      const secret = tls.secretName === '' ? undefined : options.secret(`${ingress.namespace}/${tls.secretName}`);
      if (tls.secretName !== '' && secret === undefined) {
        problems.push(problem(ingress, `${tls.field}.secretName`, `Secret ${ingress.namespace}/${tls.secretName} is missing or not a valid kubernetes.io/tls Secret; serving the default certificate`));
      }
      tls.hosts.forEach((host, i) => {
        const d = draft(host);
        if (d.tlsOwner !== undefined) {
          if (d.tlsOwner.secretName !== tls.secretName) {
            problems.push(problem(ingress, `${tls.field}.hosts[${i}]`, `TLS for ${host} is already defined by Ingress ${d.tlsOwner.owner} (Secret ${JSON.stringify(d.tlsOwner.secretName)}); the oldest wins`));
          }
          return;
        }
        let served = secret;
        if (secret !== undefined && !coversHost(secret.dnsNames, host)) {
          problems.push(problem(ingress, `${tls.field}.hosts[${i}]`, `the certificate of Secret ${ingress.namespace}/${tls.secretName} is not valid for ${host} (it names ${secret.dnsNames.join(', ') || 'nothing'}); serving the default certificate`));
          served = undefined;
        }
        d.tls = { secret: served };
        d.tlsOwner = { owner, secretName: tls.secretName };
      });
    }
  }

  let defaultUpstream: string | undefined;
  let defaultOwner: string | undefined;
  for (const ingress of sorted) {
    const owner = `${ingress.namespace}/${ingress.name}`;
    if (ingress.defaultBackend !== undefined) {
      if (defaultOwner !== undefined) {
        problems.push(problem(ingress, 'spec.defaultBackend', `the default backend is already defined by Ingress ${defaultOwner} (the oldest wins); ignored`));
      } else {
        const up = upstreamFor(ingress, ingress.defaultBackend, 'spec.defaultBackend');
        if (up.ok) {
          defaultUpstream = up.name;
          defaultOwner = owner;
        }
      }
    }
    for (const rule of ingress.rules) {
      const d = draft(rule.host);
      if (ingress.options.appRoot !== undefined && d.appRoot === undefined) d.appRoot = ingress.options.appRoot;
      for (const path of rule.paths) addRoute(ingress, owner, rule.host, path, d, upstreamFor, problems);
    }
  }
  if (defaultOwner === undefined && options.defaultBackend !== undefined) {
    const { namespace, backend } = options.defaultBackend;
    const resolved = resolveBackend(lookup, namespace, backend, options.serviceUpstream ?? true, options.nodeName ?? '');
    if (resolved.ok) {
      upstreams.set(resolved.upstream.name, resolved.upstream);
      defaultUpstream = resolved.upstream.servers.length > 0 ? resolved.upstream.name : undefined;
    } else {
      problems.push(new ValidationError({ kind: 'Flag', namespace: '', name: '--default-backend' }, 'value', resolved.reason));
    }
  }

  const servers = [...hosts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([host, d]): Server => {
      const routes = orderRoutes([...d.routes.values()]);
      return { host, tls: d.tls, appRoot: d.appRoot, routes, regex: routes.some((r) => r.match === 'regex') };
    });
  return { servers, upstreams, defaultUpstream, problems };
}

function addRoute(
  ingress: Ingress,
  owner: string,
  host: string,
  path: IngressPath,
  d: HostDraft,
  upstreamFor: (ingress: Ingress, backend: IngressBackend, field: string) => { ok: boolean; name: string | undefined },
  problems: ValidationError[],
): void {
  const match: RouteMatch = path.pathType === 'Exact' ? 'exact' : ingress.options.useRegex ? 'regex' : 'prefix';
  const literal = match === 'prefix' ? literalPrefix(path.path) : path.path;
  const key = routeKey(match, literal);
  const existing = d.routes.get(key);
  if (existing !== undefined) {
    const where = host === '' ? 'every host' : host;
    problems.push(problem(ingress, `${path.field}.path`, `${match} path ${JSON.stringify(literal)} on ${where} is already routed by Ingress ${existing.owner} (the oldest wins); left out`));
    return;
  }
  const up = upstreamFor(ingress, path.backend, `${path.field}.backend`);
  if (!up.ok) return;
  const sslRedirect = d.tls !== undefined && ingress.options.sslRedirect !== false;
  d.routes.set(key, { match, path: literal, upstream: up.name, rewriteTarget: ingress.options.rewriteTarget, sslRedirect, owner });
}

/** Exact first; then longest path first (the order nginx tries regex locations in); stable for equal lengths. */
function orderRoutes(routes: Route[]): Route[] {
  const rank = (r: Route): number => (r.match === 'exact' ? 0 : 1);
  return routes
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || b.r.path.length - a.r.path.length || a.i - b.i)
    .map(({ r }) => r);
}
