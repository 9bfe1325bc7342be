// The resources the fake API server serves and how their URLs look.
export type ResourceName = 'services' | 'endpointslices' | 'nodes' | 'namespaces' | 'ingresses' | 'ingressclasses' | 'secrets';

export interface ResourceType {
  readonly name: ResourceName;
  /** '' for the core group (served under /api). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const RESOURCES: Readonly<Record<ResourceName, ResourceType>> = {
  services: { name: 'services', group: '', version: 'v1', kind: 'Service', namespaced: true },
  endpointslices: { name: 'endpointslices', group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', namespaced: true },
  nodes: { name: 'nodes', group: '', version: 'v1', kind: 'Node', namespaced: false },
  namespaces: { name: 'namespaces', group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  ingresses: { name: 'ingresses', group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', namespaced: true },
  ingressclasses: { name: 'ingressclasses', group: 'networking.k8s.io', version: 'v1', kind: 'IngressClass', namespaced: false },
  secrets: { name: 'secrets', group: '', version: 'v1', kind: 'Secret', namespaced: true },
};

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

export interface ParsedPath {
  readonly type: ResourceType;
  /** undefined: across all namespaces (or cluster-scoped). */
  readonly namespace: string | undefined;
  /** Set for a GET of one object. */
  readonly name: string | undefined;
  /** 'status' for NAME/status (PUT only). */
  readonly subresource?: 'status';
}

/**
 * /api/v1/services, /api/v1/namespaces/NS/services[/NAME], /api/v1/nodes[/NAME], /api/v1/namespaces[/NAME],
 * /apis/discovery.k8s.io/v1/[namespaces/NS/]endpointslices[/NAME], the same for ingresses,
 * ingressclasses and secrets, and NAME/status.
 */
export function parsePath(pathname: string): ParsedPath | undefined {
  const segments = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  let rest: string[];
  let group: string;
  if (segments[0] === 'api' && segments[1] === 'v1') {
    group = '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 3) {
    group = segments[1] ?? '';
    if (segments[2] !== 'v1') return undefined;
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const subresource = rest.length === 3 && rest[2] === 'status' ? 'status' : undefined;
  if (rest.length < 1 || rest.length > (subresource === undefined ? 2 : 3)) return undefined;
  const type = Object.values(RESOURCES).find((t) => t.name === rest[0] && t.group === group);
  if (type === undefined || (namespace !== undefined && !type.namespaced)) return undefined;
  return { type, namespace, name: rest[1], ...(subresource === undefined ? {} : { subresource }) };
}
