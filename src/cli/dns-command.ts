// `svcplane dns`: cluster DNS on its own, from the same sources `run` reads (manifests or
// the Kubernetes API), with cluster IPs allocated exactly as `run` allocates them.
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { createLogger, type Logger } from '../agent/logger.js';
import { POD_RECORD_MODES, type PodRecordMode } from '../dns/answer.js';
import { parseDnsServing } from './dns-flags.js';
import { ClusterDns } from '../dns/cluster-dns.js';
import { changedServices } from '../dns/records-from-store.js';
import { parseUpstream, readResolvConf, type UpstreamAddress } from '../dns/resolv-conf.js';
import { parseListen } from '../dns/server.js';
import { DEFAULT_SERVICE_CIDRS } from '../sources/cluster-ip-allocator.js';
import { buildKubeConfig } from '../sources/kubernetes-config.js';
import { KubernetesSource } from '../sources/kubernetes-source.js';
import { ManifestSource } from '../sources/manifest-source.js';
import type { Source, SourceEvent } from '../sources/source.js';
import { ObjectStore } from '../state/object-store.js';

export interface DnsCommandOptions {
  readonly source: 'files' | 'kubernetes';
  readonly manifests: readonly string[];
  readonly kubeconfig?: string;
  readonly master?: string;
  readonly listens: readonly string[];
  readonly clusterDomain: string;
  readonly upstreams: readonly string[];
  readonly podRecords: PodRecordMode;
  readonly ttl: number;
  readonly workers: number;
  readonly serviceCIDRs: readonly string[];
  readonly logFormat: 'json' | 'text';
}

export function registerDns(program: Command): void {
  program
    .command('dns')
    .description('serve the cluster domain (Kubernetes DNS specification) from the manifests or the API, forwarding other names')
    .option('--source <source>', 'files (manifests, the default) or kubernetes (the API server)', 'files')
    .option('--manifests <paths...>', 'manifest files or directories of multi-document YAML')
    .option('--kubeconfig <file>', 'kubeconfig for --source kubernetes')
    .option('--master <url>', 'API server URL, overriding the kubeconfig')
    .option('--listen <addr...>', 'IP:PORT to serve UDP and TCP on (repeatable; required)')
    .option('--cluster-domain <domain>', 'the cluster zone (default cluster.local)')
    .option('--upstream <addr...>', 'IP[:PORT] of nameservers for other names (default: those of /etc/resolv.conf)')
    .addOption(new Option('--pod-records <mode>', 'pod A records: insecure (default), verified or disabled').choices([...POD_RECORD_MODES]))
    .option('--ttl <seconds>', 'TTL of cluster records and of negative answers (default 5)')
    .option('--workers <n>', 'threads serving UDP with SO_REUSEPORT, each with a copy of the records; 0: UDP in the main thread (default: one per core, at most 8)')
    .option('--service-cluster-ip-range <cidrs>', 'ranges for cluster IPs that manifests leave unset (as `run`)')
    .option('--log-format <format>', 'json or text', 'json')
    .action(async (opts: Record<string, unknown>) => {
      const serving = parseDnsServing(opts, { clusterDomain: '--cluster-domain', podRecords: '--pod-records', ttl: '--ttl', workers: '--workers' }, 'dns');
      const source = opts.source === 'kubernetes' ? 'kubernetes' : opts.source === 'files' ? 'files' : undefined;
      if (!source) throw new Error(`dns: --source ${String(opts.source)}: expected files or kubernetes`);
      await runDns({
        source,
        manifests: (opts.manifests as string[] | undefined) ?? [],
        ...(typeof opts.kubeconfig === 'string' ? { kubeconfig: opts.kubeconfig } : {}),
        ...(typeof opts.master === 'string' ? { master: opts.master } : {}),
        listens: (opts.listen as string[] | undefined) ?? [],
        clusterDomain: serving.clusterDomain,
        upstreams: (opts.upstream as string[] | undefined) ?? [],
        podRecords: serving.podRecords,
        ttl: serving.ttl,
        workers: serving.workers,
        serviceCIDRs: typeof opts.serviceClusterIpRange === 'string' ? opts.serviceClusterIpRange.split(',').map((s) => s.trim()) : DEFAULT_SERVICE_CIDRS,
        logFormat: opts.logFormat === 'text' ? 'text' : 'json',
      });
    });
}

/** Upstreams from the flags, else from /etc/resolv.conf. */
export function dnsUpstreams(flags: readonly string[]): UpstreamAddress[] {
  return flags.length > 0 ? flags.map(parseUpstream) : readResolvConf();
}

function createSource(opts: DnsCommandOptions, logger: Logger): Source {
  if (opts.source === 'kubernetes') {
    const kubeConfig = buildKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.master ? { master: opts.master } : {}) });
    // The agent reports invalid objects with Events; a DNS server beside it would say it twice.
    return new KubernetesSource({ kubeConfig, nodeName: (process.env.NODE_NAME || hostname()).toLowerCase(), logger, recordEvents: false, watchNamespaces: true });
  }
  if (opts.manifests.length === 0) throw new Error('dns: --manifests is required with --source files');
  return new ManifestSource({ paths: [...opts.manifests], serviceCIDRs: [...opts.serviceCIDRs], logger });
}

export async function runDns(opts: DnsCommandOptions): Promise<void> {
  if (opts.listens.length === 0) throw new Error('dns: --listen IP:PORT is required (the server only listens where told)');
  const logger = createLogger({ format: opts.logFormat });
  const dns = new ClusterDns({
    listens: opts.listens.map(parseListen),
    clusterDomain: opts.clusterDomain,
    upstreams: dnsUpstreams(opts.upstreams),
    podRecords: opts.podRecords,
    ttl: opts.ttl,
    udpWorkers: opts.workers,
    logger,
  });
  const store = new ObjectStore();
  const source = createSource(opts, logger);
  await source.start((events: readonly SourceEvent[]) => {
    reportInvalid(events, logger);
    const changed = store.apply(events);
    dns.update(store, changedServices(changed), changed.namespaces);
  });
  await dns.start();
  logger.info({ listen: dns.addresses.map((a) => `${a.host}:${a.port}`), zone: opts.clusterDomain, services: dns.records.index.serviceCount, udpWorkers: opts.workers }, 'serving cluster DNS');
  const stop = (signal: string): void => {
    logger.info({ signal }, 'stopping cluster DNS');
    void Promise.all([source.stop(), dns.stop()]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function reportInvalid(events: readonly SourceEvent[], logger: Logger): void {
  for (const ev of events) {
    if (ev.type !== 'invalid') continue;
    for (const err of ev.errors) logger.warn({ object: `${err.ref.kind} ${err.ref.namespace ? err.ref.namespace + '/' : ''}${err.ref.name}`, field: err.field, reason: err.reason }, 'skipping invalid object');
  }
}
