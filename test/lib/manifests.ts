// Compact builders for the manifests the integration tests write: real YAML, exactly as a
// user would write it, so the agent reads it through the same manifest source as in production.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface PortSpec {
  readonly name?: string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly clusterIP?: string;
  readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  readonly ports?: readonly PortSpec[];
  readonly externalIPs?: readonly string[];
  readonly loadBalancerIP?: string;
  readonly loadBalancerSourceRanges?: readonly string[];
  readonly affinitySeconds?: number;
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly internalTrafficPolicy?: 'Cluster' | 'Local';
  readonly externalName?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface EndpointSpec {
  readonly ip: string;
  readonly node?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export function serviceDoc(s: ServiceSpec): Record<string, unknown> {
  const spec: Record<string, unknown> = { type: s.type ?? 'ClusterIP' };
  if (s.type === 'ExternalName') {
    spec.externalName = s.externalName ?? 'example.invalid';
  } else {
    spec.selector = { app: s.name };
    if (s.clusterIP) spec.clusterIP = s.clusterIP;
    spec.ports = (s.ports ?? [{ port: 80, targetPort: 8080 }]).map((p) => ({ ...p }));
  }
  if (s.externalIPs) spec.externalIPs = [...s.externalIPs];
  if (s.loadBalancerSourceRanges) spec.loadBalancerSourceRanges = [...s.loadBalancerSourceRanges];
  if (s.affinitySeconds) {
    spec.sessionAffinity = 'ClientIP';
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: s.affinitySeconds } };
  }
  if (s.externalTrafficPolicy) spec.externalTrafficPolicy = s.externalTrafficPolicy;
  if (s.internalTrafficPolicy) spec.internalTrafficPolicy = s.internalTrafficPolicy;
  const doc: Record<string, unknown> = { apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.namespace ?? 'default', ...(s.annotations ? { annotations: { ...s.annotations } } : {}) }, spec };
  if (s.loadBalancerIP) doc.status = { loadBalancer: { ingress: [{ ip: s.loadBalancerIP }] } };
  return doc;
}

export function sliceDoc(service: string, endpoints: readonly EndpointSpec[], ports: readonly { name?: string; protocol?: string; port: number }[] = [{ port: 8080 }], namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-slice`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: endpoints.some((e) => e.ip.includes(':')) ? 'IPv6' : 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      nodeName: e.node ?? 'node-a',
    })),
  };
}

/** A directory of manifests; every write is atomic (write + rename), as careful tools do. */
export class ManifestDir {
  readonly path = mkdtempSync(join(tmpdir(), 'svcp-manifests-'));

  write(file: string, docs: readonly unknown[]): void {
    this.writeText(file, docs.map((d) => stringify(d)).join('---\n'));
  }

  writeText(file: string, text: string): void {
    const tmp = join(this.path, `.${file}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.path, file));
  }

  remove(file: string): void {
    rmSync(join(this.path, file), { force: true });
  }

  destroy(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
