// The agent's settings: flags, an optional YAML config file (flags win), defaults.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../util/duration.js';
import { SvcplaneError } from '../util/errors.js';
import type { NodeContext } from '../state/node-context.js';
import type { LogFormat } from './logger.js';
import type { IptablesVariant } from '../kernel/iptables.js';

export const PROXY_MODES = ['iptables', 'nftables', 'ipvs', 'ebpf', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
/** What a user may ask for: a mode, or `auto` (the best mode this kernel supports). */
export const REQUESTABLE_MODES = ['auto', ...PROXY_MODES] as const;
export type RequestedMode = (typeof REQUESTABLE_MODES)[number];

export class ConfigError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BAD_CONFIG';
}

export type SourceKind = 'files' | 'kubernetes';

export interface AgentConfig {
  readonly mode: RequestedMode;
  /** Where services come from: manifest files (bare metal) or the Kubernetes API. */
  readonly source: SourceKind;
  /** kubeconfig file for `source: kubernetes` (in a pod: in-cluster config when unset). */
  readonly kubeconfig: string | undefined;
  /** API server URL overriding the kubeconfig's. */
  readonly master: string | undefined;
  /** Services labelled service.kubernetes.io/service-proxy-name with this value are ours. */
  readonly serviceProxyName: string | undefined;
  readonly manifests: readonly string[];
  readonly nodeName: string;
  readonly nodeIPs: readonly string[];
  readonly clusterCIDRs: readonly string[];
  readonly nodePortAddresses: readonly string[];
  readonly masqueradeAll: boolean;
  readonly masqueradeBit: number;
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
  readonly healthzBindAddress: string;
  readonly metricsBindAddress: string;
  readonly logFormat: LogFormat;
  readonly logLevel: string;
  readonly serviceCIDRs: readonly string[];
  /** serviceClusterIPRange was set (flag or file), not left at its default. */
  readonly serviceCIDRsGiven: boolean;
  /** iptables mode: NodePorts on 127.0.0.1 (kube-proxy's --iptables-localhost-nodeports). */
  readonly localhostNodePorts: boolean;
  /** Which iptables binaries the iptables mode drives: the system's, or nft / legacy explicitly. */
  readonly iptablesBackend: IptablesVariant;
  /** IPVS mode's scheduler for every service (kube-proxy's --ipvs-scheduler). */
  readonly ipvsScheduler: string;
  /** eBPF mode: the cgroup (v2) the socket programs attach to; undefined: the cgroup2 mount's root. */
  readonly ebpfCgroupPath: string | undefined;
  /** eBPF mode: interfaces for the tc programs; empty: those holding the node IPs. */
  readonly ebpfInterfaces: readonly string[];
  readonly ebpfLbAlgorithm: 'random' | 'maglev';
  /** eBPF mode: where maps and links are pinned (a directory on a bpf filesystem); undefined: /sys/fs/bpf/svcplane. */
  readonly ebpfPinRoot: string | undefined;
}

/** Raw settings as written on the command line or in the file (camelCase flag names). */
export type RawSettings = Readonly<Record<string, unknown>>;

const DEFAULTS = {
  mode: 'iptables',
  source: 'files',
  manifests: [] as string[],
  nodeIP: [] as string[],
  clusterCIDR: [] as string[],
  nodePortAddresses: [] as string[],
  masqueradeAll: false,
  masqueradeBit: 14,
  minSyncPeriod: '1s',
  syncPeriod: '30s',
  healthzBindAddress: '0.0.0.0:10256',
  metricsBindAddress: '127.0.0.1:10249',
  logFormat: 'json',
  logLevel: 'info',
  serviceClusterIPRange: ['10.96.0.0/12', 'fd00:10:96::/108'],
  iptablesBackend: 'auto',
  ipvsScheduler: 'rr',
  ebpfInterfaces: [] as string[],
  ebpfLbAlgorithm: 'random',
  localhostNodePorts: true,
} as const;

const KNOWN = new Set([...Object.keys(DEFAULTS), 'nodeName', 'config', 'hostnameOverride', 'iptables', 'kubeconfig', 'master', 'serviceProxyName', 'clientConnection', 'ipvs', 'ebpfCgroupPath', 'ebpfPinRoot']);

/** kube-proxy's KubeProxyConfiguration keeps some settings under `iptables:`; accept them there too. */
function flattenFile(file: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (!KNOWN.has(k)) throw new ConfigError(`${path}: unknown setting "${k}"`);
    if (k === 'ipvs' && v && typeof v === 'object') {
      // kube-proxy's KubeProxyConfiguration: ipvs.scheduler.
      const sched = (v as Record<string, unknown>).scheduler;
      if (sched !== undefined) out.ipvsScheduler = sched;
    } else if (k === 'iptables' && v && typeof v === 'object') {
      for (const [ik, iv] of Object.entries(v as Record<string, unknown>)) {
        if (!['masqueradeAll', 'masqueradeBit', 'minSyncPeriod', 'syncPeriod', 'localhostNodePorts'].includes(ik)) throw new ConfigError(`${path}: unknown setting "iptables.${ik}"`);
        out[ik] = iv;
      }
    } else if (k === 'clientConnection' && v && typeof v === 'object') {
      // kube-proxy keeps the kubeconfig path under clientConnection.kubeconfig.
      const kc = (v as Record<string, unknown>).kubeconfig;
      if (kc !== undefined) out.kubeconfig = kc;
    } else if (k === 'hostnameOverride') out.nodeName = v;
    else out[k] = v;
  }
  return out;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config file: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${path}: expected a mapping of settings`);
  return flattenFile(doc as Record<string, unknown>, path);
}

function list(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v : [v];
  return items.flatMap((x) => {
    if (typeof x !== 'string') throw new ConfigError(`${key}: expected a string or a list of strings`);
    return x.split(',').map((s) => s.trim()).filter(Boolean);
  });
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string') throw new ConfigError(`${key}: expected a string`);
  return v;
}

function oneOf<T extends string>(v: unknown, key: string, allowed: readonly T[]): T {
  const value = str(v, key);
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${key}: unsupported value "${value}": supported values: ${allowed.join(', ')}`);
  return value as T;
}

/** Merges defaults < config file < flags given on the command line. */
export function resolveConfig(flags: RawSettings, file: RawSettings = {}): AgentConfig {
  const s: Record<string, unknown> = { ...DEFAULTS, ...file };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) s[k] = v;
  const mode = str(s.mode, 'mode');
  if (!(REQUESTABLE_MODES as readonly string[]).includes(mode)) throw new ConfigError(`mode: unsupported value "${mode}": supported values: ${REQUESTABLE_MODES.join(', ')}`);
  const source = str(s.source, 'source');
  if (source !== 'files' && source !== 'kubernetes') throw new ConfigError(`source: unsupported value "${source}": supported values: files, kubernetes`);
  const optional = (key: string): string | undefined => (s[key] === undefined || s[key] === '' ? undefined : str(s[key], key));
  const iptablesBackend = str(s.iptablesBackend, 'iptablesBackend');
  if (!['auto', 'nft', 'legacy'].includes(iptablesBackend)) throw new ConfigError(`iptablesBackend: unsupported value "${iptablesBackend}": supported values: auto, nft, legacy`);
  const logFormat = str(s.logFormat, 'logFormat');
  if (logFormat !== 'json' && logFormat !== 'text') throw new ConfigError(`logFormat: unsupported value "${logFormat}": supported values: json, text`);
  const masqueradeBit = Number(s.masqueradeBit);
  if (!Number.isInteger(masqueradeBit) || masqueradeBit < 0 || masqueradeBit > 31) throw new ConfigError('masqueradeBit: must be between 0 and 31, inclusive');
  const minSyncPeriodMs = parseDuration(String(s.minSyncPeriod), 'minSyncPeriod');
  const syncPeriodMs = parseDuration(String(s.syncPeriod), 'syncPeriod');
  if (syncPeriodMs <= 0) throw new ConfigError('syncPeriod: must be greater than 0');
  if (minSyncPeriodMs > syncPeriodMs) throw new ConfigError('minSyncPeriod: must not be longer than syncPeriod');
  return {
    mode: mode as RequestedMode,
    source,
    kubeconfig: optional('kubeconfig'),
    master: optional('master'),
    serviceProxyName: optional('serviceProxyName'),
    manifests: list(s.manifests, 'manifests'),
    nodeName: typeof s.nodeName === 'string' && s.nodeName ? s.nodeName : (process.env.NODE_NAME || hostname()).toLowerCase(),
    nodeIPs: list(s.nodeIP, 'nodeIP'),
    clusterCIDRs: list(s.clusterCIDR, 'clusterCIDR'),
    nodePortAddresses: list(s.nodePortAddresses, 'nodePortAddresses'),
    masqueradeAll: s.masqueradeAll === true || s.masqueradeAll === 'true',
    masqueradeBit,
    minSyncPeriodMs,
    syncPeriodMs,
    healthzBindAddress: str(s.healthzBindAddress, 'healthzBindAddress'),
    metricsBindAddress: str(s.metricsBindAddress, 'metricsBindAddress'),
    logFormat,
    logLevel: str(s.logLevel, 'logLevel'),
    serviceCIDRs: list(s.serviceClusterIPRange, 'serviceClusterIPRange'),
    serviceCIDRsGiven: flags.serviceClusterIPRange !== undefined || file.serviceClusterIPRange !== undefined,
    localhostNodePorts: bool(s.localhostNodePorts, 'localhostNodePorts'),
    iptablesBackend: iptablesBackend as IptablesVariant,
    ipvsScheduler: str(s.ipvsScheduler, 'ipvsScheduler'),
    ebpfCgroupPath: optional('ebpfCgroupPath'),
    ebpfInterfaces: list(s.ebpfInterfaces, 'ebpfInterfaces'),
    ebpfLbAlgorithm: oneOf(s.ebpfLbAlgorithm, 'ebpfLbAlgorithm', ['random', 'maglev'] as const),
    ebpfPinRoot: absolutePath(optional('ebpfPinRoot'), 'ebpfPinRoot'),
  };
}

function bool(v: unknown, key: string): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new ConfigError(`${key}: expected true or false`);
}

function absolutePath(value: string | undefined, key: string): string | undefined {
  if (value !== undefined && !value.startsWith('/')) throw new ConfigError(`${key}: expected an absolute path, got "${value}"`);
  return value;
}

export function nodeContextFrom(cfg: AgentConfig): NodeContext {
  return {
    nodeName: cfg.nodeName,
    nodeIPs: cfg.nodeIPs,
    zone: undefined,
    clusterCIDRs: cfg.clusterCIDRs,
    nodePortAddresses: cfg.nodePortAddresses,
    masqueradeAll: cfg.masqueradeAll,
    masqueradeBit: cfg.masqueradeBit,
    localhostNodePorts: cfg.localhostNodePorts,
    // The range is svcplane's own with manifests (it allocates from it); from the API server,
    // only a range given on purpose: the default may not be the cluster's, and the nftables
    // mode drops traffic to the range's unallocated addresses.
    serviceCIDRs: cfg.source === 'files' || cfg.serviceCIDRsGiven ? cfg.serviceCIDRs : [],
  };
}
