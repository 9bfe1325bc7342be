// The few Pod fields pod-side discovery reads (service environment, resolv.conf):
// a validated, readonly form, as the kubelet would see them after API defaulting.
import type { ValidationError } from './errors.js';

export const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;
export type DNSPolicy = (typeof DNS_POLICIES)[number];

export interface PodDNSOption {
  readonly name: string;
  /** undefined: a bare option such as `edns0`. */
  readonly value: string | undefined;
}

export interface PodDNSConfig {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  readonly options: readonly PodDNSOption[];
}

/** env[].valueFrom.fieldRef paths that have a meaning off-cluster. */
export const POD_FIELD_REFS = ['metadata.name', 'metadata.namespace'] as const;
export type PodFieldRef = (typeof POD_FIELD_REFS)[number];

export type PodEnvVar =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly fieldRef: PodFieldRef };

export interface PodContainer {
  readonly name: string;
  readonly env: readonly PodEnvVar[];
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  /** spec.enableServiceLinks; the API defaults it to true. */
  readonly enableServiceLinks: boolean;
  readonly hostNetwork: boolean;
  readonly dnsPolicy: DNSPolicy;
  /** undefined when spec.dnsConfig is unset. */
  readonly dnsConfig: PodDNSConfig | undefined;
  readonly containers: readonly PodContainer[];
}

/** The result of reading a Pod: problems the API would refuse, and notes the kubelet would log. */
export type PodResult =
  | { readonly ok: true; readonly pod: Pod; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly ValidationError[] };
