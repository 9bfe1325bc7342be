// A service port's endpoints, computed from its EndpointSlices the way kube-proxy's
// endpointslicecache, CategorizeEndpoints and topology filtering do.
import type { EndpointSlice, IPFamily, Protocol, Service } from '../model/types.js';
import type { NodeContext } from './node-context.js';
import { familyOf } from './node-context.js';
import type { EndpointInfo } from './types.js';

/** An endpoint with the topology hints used while categorizing (hints are not part of the state). */
export interface EndpointCandidate {
  readonly info: EndpointInfo;
  readonly hintsForZones: readonly string[];
  readonly hintsForNodes: readonly string[];
}

export interface PortEndpoints {
  readonly clusterEndpoints: readonly EndpointInfo[];
  readonly localEndpoints: readonly EndpointInfo[];
  readonly hasEndpoints: boolean;
}

export interface PortSelector {
  readonly name: string;
  readonly protocol: Protocol;
}

export type TopologyContext = Pick<NodeContext, 'nodeName' | 'zone'>;

/** kube-proxy's spec.trafficDistribution values (PreferClose is the older name of PreferSameZone). */
const PREFER_CLOSE = 'PreferClose';
const PREFER_SAME_ZONE = 'PreferSameZone';
const PREFER_SAME_NODE = 'PreferSameNode';

export function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  return a.port - b.port;
}

/**
 * The endpoints of one service port in one family: from each slice of that address type, the
 * slice port with the same name and protocol gives the endpoint port (named targetPorts arrive
 * resolved). Only the first address of an endpoint is used; duplicates by ip:port are merged,
 * a ready one winning over a not-ready one. Sorted by ip, then port.
 */
export function collectEndpoints(
  slices: readonly EndpointSlice[],
  family: IPFamily,
  port: PortSelector,
  nodeName: string,
  publishNotReadyAddresses: boolean,
): EndpointCandidate[] {
  const byAddr = new Map<string, EndpointCandidate>();
  for (const slice of slices) {
    if (slice.addressType !== family) continue;
    const slicePort = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (!slicePort || slicePort.port === 0) continue;
    for (const ep of slice.endpoints) {
      const ip = ep.addresses[0];
      if (ip === undefined || familyOf(ip) !== family) continue;
      const key = `${ip}|${slicePort.port}`;
      const ready = publishNotReadyAddresses || ep.ready;
      const prev = byAddr.get(key);
      if (prev && (prev.info.ready || !ready)) continue;
      byAddr.set(key, {
        info: {
          ip,
          port: slicePort.port,
          ready,
          serving: publishNotReadyAddresses || ep.serving,
          terminating: ep.terminating,
          isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
          nodeName: ep.nodeName,
          zone: ep.zone,
        },
        hintsForZones: ep.hintsForZones,
        hintsForNodes: ep.hintsForNodes,
      });
    }
  }
  return [...byAddr.values()].sort((a, b) => compareEndpoints(a.info, b.info));
}

type TopologyMode = '' | 'node-hints' | 'zone-hints';

/** kube-proxy's topologyModeFromHints: hints count only when every ready endpoint carries them. */
function topologyModeFromHints(candidates: readonly EndpointCandidate[], ctx: TopologyContext): TopologyMode {
  let allNodeHints = true;
  let hasForNode = false;
  let allZoneHints = true;
  let hasForZone = false;
  for (const c of candidates) {
    if (!c.info.ready) continue;
    if (c.hintsForNodes.length === 0) allNodeHints = false;
    else if (c.hintsForNodes.includes(ctx.nodeName)) hasForNode = true;
    if (c.hintsForZones.length === 0) allZoneHints = false;
    else if (ctx.zone !== undefined && c.hintsForZones.includes(ctx.zone)) hasForZone = true;
  }
  if (allNodeHints && hasForNode) return 'node-hints';
  if (allZoneHints && hasForZone) return 'zone-hints';
  return '';
}

function availableForTopology(c: EndpointCandidate, mode: TopologyMode, ctx: TopologyContext): boolean {
  switch (mode) {
    case '':
      return true;
    case 'node-hints':
      return c.hintsForNodes.includes(ctx.nodeName);
    case 'zone-hints':
      return ctx.zone !== undefined && c.hintsForZones.includes(ctx.zone);
  }
}

/**
 * With trafficDistribution set but no hints at all (no EndpointSlice controller filling them,
 * e.g. manifest sources), prefer ready endpoints close to this node when any exist.
 */
function preferCloseWithoutHints(
  ready: readonly EndpointInfo[],
  candidates: readonly EndpointCandidate[],
  trafficDistribution: string | undefined,
  ctx: TopologyContext,
): readonly EndpointInfo[] {
  if (trafficDistribution === undefined) return ready;
  const anyHints = candidates.some((c) => c.info.ready && (c.hintsForZones.length > 0 || c.hintsForNodes.length > 0));
  if (anyHints) return ready;
  if (trafficDistribution === PREFER_SAME_NODE) {
    const local = ready.filter((e) => e.isLocal);
    if (local.length > 0) return local;
  }
  if (
    (trafficDistribution === PREFER_CLOSE || trafficDistribution === PREFER_SAME_ZONE || trafficDistribution === PREFER_SAME_NODE) &&
    ctx.zone !== undefined
  ) {
    const sameZone = ready.filter((e) => e.zone === ctx.zone);
    if (sameZone.length > 0) return sameZone;
  }
  return ready;
}

/** Ready endpoints, or if none is ready anywhere, the serving-and-terminating ones (kube-proxy's fallback). */
function readyElseTerminating(endpoints: readonly EndpointInfo[]): EndpointInfo[] {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return endpoints.filter((e) => e.serving && e.terminating);
}

/** kube-proxy's CategorizeEndpoints for one service port (candidates sorted as collectEndpoints returns them). */
export function categorizeEndpoints(
  candidates: readonly EndpointCandidate[],
  trafficDistribution: string | undefined,
  ctx: TopologyContext,
): PortEndpoints {
  const all = candidates.map((c) => c.info);
  const mode = topologyModeFromHints(candidates, ctx);
  let clusterEndpoints: readonly EndpointInfo[];
  if (mode !== '') {
    // A hinted endpoint for this node/zone is ready by construction, so this is never empty.
    clusterEndpoints = candidates.filter((c) => c.info.ready && availableForTopology(c, mode, ctx)).map((c) => c.info);
  } else {
    const ready = all.filter((e) => e.ready);
    clusterEndpoints = ready.length > 0 ? preferCloseWithoutHints(ready, candidates, trafficDistribution, ctx) : readyElseTerminating(all);
  }
  const localEndpoints = readyElseTerminating(all.filter((e) => e.isLocal));
  const hasEndpoints = all.some((e) => e.ready || (e.serving && e.terminating));
  return { clusterEndpoints, localEndpoints, hasEndpoints };
}

/** Everything above for one port of a service in one family. */
export function computePortEndpoints(
  service: Pick<Service, 'publishNotReadyAddresses' | 'trafficDistribution'>,
  port: PortSelector,
  family: IPFamily,
  slices: readonly EndpointSlice[],
  ctx: TopologyContext,
): PortEndpoints {
  const candidates = collectEndpoints(slices, family, port, ctx.nodeName, service.publishNotReadyAddresses);
  return categorizeEndpoints(candidates, service.trafficDistribution, ctx);
}
