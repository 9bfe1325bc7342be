// The demo's Ingress step: the agent runs the Ingress controller (`run --ingress`, nginx on the
// node IP), and the client namespace fetches pages by the Ingress's host with curl. nginx
// proxies to the backend service's cluster IP, so each page also crosses the mode's dataplane.
import { setTimeout as delay } from 'node:timers/promises';
import { runCommand } from '../kernel/exec.js';
import type { Ingress } from '../model/ingress-types.js';
import type { FamilyState, ServicePortState } from '../state/types.js';
import type { RequestResult } from '../testbed/traffic.js';
import { DemoError, type DemoPod, type DemoTarget } from './demo-plan.js';

export const DEMO_HTTP_PORT = 80;
export const DEMO_HTTPS_PORT = 443;
const STATUS_MARK = '@@svcplane-demo-status ';

interface Route {
  readonly ingress: Ingress;
  readonly host: string;
  readonly path: string;
  readonly servicePort: ServicePortState;
}

function backendPort(state: FamilyState, namespace: string, service: string, port: number | string): ServicePortState | undefined {
  return [...state.values()].find(
    (sp) => sp.namespace === namespace && sp.serviceName === service && sp.protocol === 'TCP' && (typeof port === 'number' ? sp.port === port : sp.portName === port),
  );
}

/** Every host rule path of the Ingresses whose backend is a known TCP service port, by Ingress name. */
function routes(state: FamilyState, ingresses: readonly Ingress[]): Route[] {
  const sorted = [...ingresses].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return sorted.flatMap((ingress) =>
    ingress.rules.flatMap((rule) =>
      rule.paths.flatMap((p) => {
        const servicePort = backendPort(state, ingress.namespace, p.backend.service, p.backend.port);
        return servicePort === undefined || rule.host === '' || rule.host.startsWith('*') ? [] : [{ ingress, host: rule.host, path: p.path, servicePort }];
      }),
    ),
  );
}

/** The service ports the Ingresses send to: their endpoints serve HTTP in the demo. */
export function ingressBackendKeys(state: FamilyState, ingresses: readonly Ingress[]): Set<string> {
  return new Set(routes(state, ingresses).map((r) => r.servicePort.key));
}

/** The first Ingress route, as a target reached at nodeIP:80 with its Host; undefined when there is none. */
export function resolveIngressTarget(state: FamilyState, pods: readonly DemoPod[], ingresses: readonly Ingress[], nodeIP: string, count: number): DemoTarget | undefined {
  const [route] = routes(state, ingresses);
  if (!route) return undefined;
  const sp = route.servicePort;
  const byIP = new Map(pods.map((p) => [p.ip, p]));
  // nginx runs on the node: its connections to the cluster IP follow the internal policy.
  const endpoints = sp.internalPolicyLocal ? sp.localEndpoints : sp.clusterEndpoints;
  const expected = endpoints.map((ep) => {
    const pod = byIP.get(ep.ip);
    if (!pod) throw new DemoError(`Ingress ${route.ingress.namespace}/${route.ingress.name}: endpoint ${ep.ip} is outside the pod CIDR, the demo has no pod for it`);
    return pod;
  });
  if (expected.length === 0) throw new DemoError(`Ingress ${route.ingress.namespace}/${route.ingress.name}: ${sp.key} has no endpoints`);
  const backend = `${sp.namespace}/${sp.serviceName}:${sp.portName || sp.port}`;
  return {
    service: `${sp.namespace}/${sp.serviceName}:${sp.portName}`, kind: 'Ingress', protocol: 'TCP', ip: nodeIP, port: DEMO_HTTP_PORT, from: 'client', count, expected,
    http: { host: route.host, path: route.path },
    title: `Ingress ${route.ingress.namespace}/${route.ingress.name}  http://${route.host}${route.path} via nginx on ${nodeIP}:${DEMO_HTTP_PORT} -> ${backend} (cluster IP ${sp.clusterIP ?? 'none'}), ${count} requests from the client namespace`,
  };
}

/** Parses curl's output: each body followed by the status line it was told to write. */
export function parseCurlPages(stdout: string, count: number): RequestResult[] {
  const results: RequestResult[] = [];
  let body: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(STATUS_MARK)) {
      body.push(line);
      continue;
    }
    const status = Number(line.slice(STATUS_MARK.length));
    const identity = body.join('\n').trim();
    results.push(status === 200 && /^[a-z0-9-]+$/.test(identity) ? { ok: true, identity } : { ok: false, error: status === 0 ? 'refused' : `other:HTTP ${status}` });
    body = [];
  }
  while (results.length < count) results.push({ ok: false, error: 'timeout' });
  return results.slice(0, count);
}

/**
 * `count` requests from `netns` with one curl (a new connection to nginx each, so nginx makes a
 * new upstream connection and the dataplane picks an endpoint each time).
 */
export async function fetchThroughIngress(netns: string, target: DemoTarget): Promise<RequestResult[]> {
  if (target.http === undefined) throw new DemoError(`not an Ingress target: ${target.service}`);
  const { host, path } = target.http;
  const url = `http://${target.ip}:${target.port}${path}`;
  const args = ['-sS', '--max-time', '5', '-H', `Host: ${host}`, '-H', 'Connection: close', '-w', `\n${STATUS_MARK}%{http_code}\n`];
  for (let i = 0; i < target.count; i++) args.push(url);
  const r = await runCommand('curl', args, { netns, timeoutMs: 60_000 });
  return parseCurlPages(r.stdout, target.count);
}

/** nginx loads the route a moment after the agent's first sync: single pages until one answers, then `count`. */
export async function fetchThroughIngressWhenReady(netns: string, target: DemoTarget, timeoutMs: number): Promise<RequestResult[]> {
  const deadline = performance.now() + timeoutMs;
  while (!(await fetchThroughIngress(netns, { ...target, count: 1 }))[0]?.ok && performance.now() < deadline) await delay(200);
  return fetchThroughIngress(netns, target);
}
