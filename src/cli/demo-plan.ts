// What the demo builds and tests, derived from the desired state of the bundled
// examples: one pod per endpoint address inside the pod CIDR (addresses outside
// it, like the selector-less example's 192.0.2.42, get no pod and are never
// contacted), and the traffic targets with the pods expected to answer them. Endpoints of a
// service port an Ingress sends to serve HTTP instead of the line protocol.
import { nodeContextFrom, resolveConfig } from '../agent/config.js';
import { cidrContains, parseIP } from '../model/ip.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { ObjectStore } from '../state/object-store.js';
import { SvcplaneError } from '../util/errors.js';
import type { EndpointInfo, FamilyState, ServicePortState } from '../state/types.js';
import type { Ingress } from '../model/ingress-types.js';
import { formatErrors } from './format.js';
import { loadManifests } from './load-manifests.js';

export class DemoError extends SvcplaneError {
  override readonly code = 'SVCPLANE_DEMO_FAILED';
}

export interface DemoPod {
  /** Test bed pod name: the first service it backs plus a counter (`my-service-1`). */
  readonly name: string;
  readonly ip: string;
  /** The EndpointSlice's nodeName ('' when unset). */
  readonly nodeName: string;
  /** 'local' when the endpoint runs on the agent's node. */
  readonly node: 'local' | 'remote';
  /** Ports the pod must listen on, sorted. */
  readonly tcp: readonly number[];
  readonly udp: readonly number[];
  /** TCP ports answering HTTP (an Ingress backend's endpoints). */
  readonly http: readonly number[];
}

export type TrafficSource = 'node' | 'client';

export interface DemoTarget {
  /** `namespace/name:port` of the service port. */
  readonly service: string;
  /** How the target is addressed: a service's cluster IP or node port, or an Ingress host. */
  readonly kind: 'ClusterIP' | 'NodePort' | 'Ingress';
  readonly protocol: 'TCP' | 'UDP';
  readonly ip: string;
  readonly port: number;
  readonly from: TrafficSource;
  readonly count: number;
  /** Pods the agent should balance across (every one must answer). */
  readonly expected: readonly DemoPod[];
  /** The heading when the address alone does not say it (an Ingress: its host, path and route). */
  readonly title?: string;
  /** An Ingress target: the Host header and path of its requests. */
  readonly http?: { readonly host: string; readonly path: string };
}

/** A target as asked for by the demo, before it is resolved against the desired state. */
export interface TargetRequest {
  readonly service: string;
  readonly kind: 'ClusterIP' | 'NodePort';
  readonly from: TrafficSource;
  readonly count: number;
}

export interface DemoNode {
  readonly manifests: string;
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly clusterCIDR: string;
}

export interface DemoManifests {
  readonly state: FamilyState;
  readonly ingresses: readonly Ingress[];
}

/** The IPv4 desired state of the manifests, computed as `plan` and the agent compute it, and their Ingresses. */
export async function loadDemo(node: DemoNode): Promise<DemoManifests> {
  const cfg = resolveConfig({ mode: 'iptables', manifests: [node.manifests], nodeName: node.nodeName, nodeIP: node.nodeIP, clusterCIDR: node.clusterCIDR });
  const { events, errors } = await loadManifests(cfg.manifests, cfg.serviceCIDRs);
  if (errors.length > 0) throw new DemoError(`the manifests do not validate:\n${formatErrors(errors, 'skipped')}`);
  const store = new ObjectStore();
  store.apply(events);
  const ingresses = events.flatMap((e) => (e.type === 'ingress-upsert' ? [e.ingress] : []));
  return { state: new DesiredStateBuilder(nodeContextFrom(cfg)).update(store, 'all').state.IPv4, ingresses };
}

/** Endpoints a service port may send to: the Cluster-policy set plus the Local-policy set. */
function usableEndpoints(sp: ServicePortState): EndpointInfo[] {
  return [...sp.clusterEndpoints, ...sp.localEndpoints];
}

/**
 * One pod per endpoint IP inside `podCIDR`, with every port and protocol it serves; the
 * endpoints of the service ports in `httpPorts` (keys) serve HTTP.
 */
export function demoPods(state: FamilyState, podCIDR: string, localNode: string, httpPorts: ReadonlySet<string> = new Set()): DemoPod[] {
  interface Draft {
    firstService: string;
    nodeName: string;
    tcp: Set<number>;
    udp: Set<number>;
    http: Set<number>;
  }
  const byIP = new Map<string, Draft>();
  const ports = [...state.values()].sort((a, b) => a.key.localeCompare(b.key));
  for (const sp of ports) {
    // SCTP has no identity server; none of the examples uses it.
    if (sp.protocol === 'SCTP') continue;
    for (const ep of usableEndpoints(sp)) {
      if (!cidrContains(podCIDR, ep.ip)) continue;
      let draft = byIP.get(ep.ip);
      if (!draft) {
        draft = { firstService: sp.serviceName, nodeName: ep.nodeName ?? '', tcp: new Set(), udp: new Set(), http: new Set() };
        byIP.set(ep.ip, draft);
      }
      (sp.protocol === 'UDP' ? draft.udp : httpPorts.has(sp.key) ? draft.http : draft.tcp).add(ep.port);
    }
  }
  const counters = new Map<string, number>();
  return [...byIP.entries()]
    .sort(([a], [b]) => compareIPs(a, b))
    .map(([ip, d]): DemoPod => {
      const n = (counters.get(d.firstService) ?? 0) + 1;
      counters.set(d.firstService, n);
      return {
        name: `${d.firstService}-${n}`,
        ip,
        nodeName: d.nodeName,
        node: d.nodeName === localNode ? 'local' : 'remote',
        tcp: [...d.tcp].sort((a, b) => a - b),
        udp: [...d.udp].sort((a, b) => a - b),
        http: [...d.http].sort((a, b) => a - b),
      };
    });
}

/** Resolves a requested target to an address and the pods expected to answer. */
export function resolveTarget(state: FamilyState, pods: readonly DemoPod[], req: TargetRequest, nodeIP: string): DemoTarget {
  const sp = state.get(req.service);
  if (!sp) throw new DemoError(`the examples have no service port ${req.service}`);
  if (sp.protocol === 'SCTP') throw new DemoError(`${req.service}: SCTP is not supported by the demo`);
  let ip: string;
  let port: number;
  if (req.kind === 'ClusterIP') {
    if (sp.clusterIP === undefined) throw new DemoError(`${req.service} has no cluster IP`);
    ip = sp.clusterIP;
    port = sp.port;
  } else {
    if (sp.nodePort === 0) throw new DemoError(`${req.service} has no node port`);
    ip = nodeIP;
    port = sp.nodePort;
  }
  // Traffic from outside the cluster follows the external policy, from the node the internal one.
  const policyLocal = req.from === 'client' && req.kind === 'NodePort' ? sp.externalPolicyLocal : sp.internalPolicyLocal;
  const endpoints = policyLocal ? sp.localEndpoints : sp.clusterEndpoints;
  const byIP = new Map(pods.map((p) => [p.ip, p]));
  const expected = endpoints.map((ep) => {
    const pod = byIP.get(ep.ip);
    if (!pod) throw new DemoError(`${req.service}: endpoint ${ep.ip} is outside the pod CIDR, the demo has no pod for it`);
    return pod;
  });
  if (expected.length === 0) throw new DemoError(`${req.service} has no endpoints to balance across`);
  return { service: req.service, kind: req.kind, protocol: sp.protocol, ip, port, from: req.from, count: req.count, expected };
}

/** Numeric address order (10.244.1.11 before 10.244.1.2 would be wrong). */
function compareIPs(a: string, b: string): number {
  const ba = parseIP(a)?.bytes ?? new Uint8Array();
  const bb = parseIP(b)?.bytes ?? new Uint8Array();
  if (ba.length !== bb.length) return ba.length - bb.length;
  for (let i = 0; i < ba.length; i++) {
    const d = (ba[i] ?? 0) - (bb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}
