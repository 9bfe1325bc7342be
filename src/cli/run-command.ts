import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { Option, type Command } from 'commander';
import { Agent } from '../agent/agent.js';
import { nodeContextFrom, readConfigFile, resolveConfig, type AgentConfig } from '../agent/config.js';
import { ConntrackFlowCleaner } from '../agent/conntrack-cleaner.js';
import { HealthTracker, parseBindAddress, startHealthServer, startMetricsServer } from '../agent/health.js';
import { createLogger } from '../agent/logger.js';
import { Metrics } from '../agent/metrics.js';
import { cleanupOtherModes, createBackend, IMPLEMENTED_MODES, probeMode } from '../agent/modes.js';
import { selectMode } from '../agent/mode-selection.js';
import { ServiceHealthServer } from '../agent/service-health.js';
import { healthCheckAddresses, planHealthChecks } from '../agent/service-health-plan.js';
import { Conntrack } from '../kernel/conntrack.js';
import { buildKubeConfig } from '../sources/kubernetes-config.js';
import { KubernetesSource } from '../sources/kubernetes-source.js';
import { ManifestSource } from '../sources/manifest-source.js';
import type { Source } from '../sources/source.js';
import type { Logger } from '../agent/logger.js';
import { addNodeOptions, flagsToSettings } from './options.js';
import { ClusterDns } from '../dns/cluster-dns.js';
import { changedServices } from '../dns/records-from-store.js';
import { parseListen } from '../dns/server.js';
import type { ObjectStore, ServiceKeySet } from '../state/object-store.js';
import { dnsUpstreams } from './dns-command.js';
import { DNS_SERVING_DEFAULTS, parseDnsServing, type DnsServingSettings } from './dns-flags.js';
import { POD_RECORD_MODES } from '../dns/answer.js';
import { IngressKubernetes } from './ingress-kubernetes.js';
import { addRunIngressOptions, ingressOptionsFromRunFlags, IngressRuntime, type IngressRuntimeOptions } from './ingress-command.js';
import { userspaceSettings } from './userspace-options.js';
import type { UserspaceSettings } from '../backends/userspace/userspace-backend.js';

/** The node's addresses when --node-ip is not given (a bare-metal node has no Node object). */
function detectNodeIPs(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80:')))
    .map((a) => (a as { address: string }).address);
}

export function registerRun(program: Command): void {
  addNodeOptions(program.command('run'))
    .description('run the node agent: watch the manifests and keep the kernel programmed')
    .option('--min-sync-period <duration>', 'minimum time between syncs (default 1s)')
    .option('--sync-period <duration>', 'time between periodic syncs: a read-back of the kernel, and a full rewrite when it drifted (default 30s)')
    .option('--healthz-bind-address <addr:port>', '/healthz and /livez, status and timestamps only (default 0.0.0.0:10256)')
    .option('--metrics-bind-address <addr:port>', '/metrics and the detailed /healthz (default 127.0.0.1:10249)')
    .option('--log-format <format>', 'json or text (default json)')
    .option('--log-level <level>', 'debug, info, warn, error (default info)')
    .option('--dns-listen <addr...>', 'also serve cluster DNS on IP:PORT (UDP and TCP) from the agent\'s state')
    .option('--dns-upstream <addr...>', 'with --dns-listen: nameservers for other names (default: those of /etc/resolv.conf)')
    .option('--dns-cluster-domain <domain>', 'with --dns-listen: the cluster zone (default cluster.local; `dns --cluster-domain`)')
    .addOption(new Option('--dns-pod-records <mode>', 'with --dns-listen: pod A records, insecure (default), verified or disabled').choices([...POD_RECORD_MODES]))
    .option('--dns-ttl <seconds>', 'with --dns-listen: TTL of cluster records and negative answers (default 5)')
    .option('--dns-workers <n>', 'with --dns-listen: threads serving UDP (SO_REUSEPORT); 0: in the agent\'s thread (default: one per core, at most 8)')
    .option('--userspace-no-redirect', 'userspace mode without root: open the listeners only, no iptables rules')
    .option('--userspace-listen-address <ip>', 'with --userspace-no-redirect: listen on this address at the service ports (default: 127.0.0.1, kernel-chosen ports)')
    .option('--udp-timeout <duration>', 'userspace mode: idle time after which a UDP session is closed (default 250ms)');
  addRunIngressOptions(program.commands.find((c) => c.name() === 'run') as Command)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
      const cfg = resolveConfig(flagsToSettings(opts, (n) => cmd.getOptionValueSource(n) === 'cli'), file);
      const dnsFlags = agentDnsFlags(opts);
      await runAgent(cfg, dnsFlags, opts['ingress'] === true ? ingressOptionsFromRunFlags(opts, cfg) : undefined, userspaceSettings(opts));
    });
}

function agentKubeConfig(cfg: AgentConfig): KubeConfig {
  return buildKubeConfig({ ...(cfg.kubeconfig ? { kubeconfig: cfg.kubeconfig } : {}), ...(cfg.master ? { master: cfg.master } : {}) });
}

/** `watchNamespaces`: cluster DNS is served, and needs to know empty namespaces. */
function createSource(cfg: AgentConfig, logger: Logger, watchNamespaces: boolean): Source {
  if (cfg.source === 'kubernetes') {
    return new KubernetesSource({ kubeConfig: agentKubeConfig(cfg), nodeName: cfg.nodeName, logger, watchNamespaces, ...(cfg.serviceProxyName ? { serviceProxyName: cfg.serviceProxyName } : {}) });
  }
  if (cfg.manifests.length === 0) throw new Error('run: --manifests is required with --source files');
  return new ManifestSource({ paths: [...cfg.manifests], serviceCIDRs: [...cfg.serviceCIDRs], logger });
}

/**
 * `run`'s DNS flags: those of `svcplane dns` under a --dns- prefix (--dns-cluster-domain, not the
 * kubelet's --cluster-domain: in `run` they only configure the --dns-listen server, and kube-proxy,
 * whose flags `run` mirrors, has no cluster domain). Without --dns-listen they are an error.
 */
export function agentDnsFlags(opts: Record<string, unknown>): AgentDnsFlags {
  const listens = (opts.dnsListen as string[] | undefined) ?? [];
  const upstreams = (opts.dnsUpstream as string[] | undefined) ?? [];
  const given = { clusterDomain: opts.dnsClusterDomain, podRecords: opts.dnsPodRecords, ttl: opts.dnsTtl, workers: opts.dnsWorkers };
  if (listens.length === 0) {
    const stray = Object.entries({ '--dns-upstream': opts.dnsUpstream, '--dns-cluster-domain': given.clusterDomain, '--dns-pod-records': given.podRecords, '--dns-ttl': given.ttl, '--dns-workers': given.workers }).find(([, v]) => v !== undefined);
    if (stray) throw new Error(`run: ${stray[0]} needs --dns-listen (the agent serves DNS only where told)`);
  }
  return { listens, upstreams, ...parseDnsServing(given, { clusterDomain: '--dns-cluster-domain', podRecords: '--dns-pod-records', ttl: '--dns-ttl', workers: '--dns-workers' }, 'run') };
}

/** Cluster DNS inside the agent: one watch, one store; the agent hands each applied batch over. */
async function startAgentDns(flags: AgentDnsFlags, logger: Logger): Promise<{ dns: ClusterDns; onStoreChange: (store: ObjectStore, keys: ServiceKeySet) => void } | undefined> {
  if (flags.listens.length === 0) return undefined;
  const dns = new ClusterDns({ listens: flags.listens.map(parseListen), clusterDomain: flags.clusterDomain, upstreams: dnsUpstreams(flags.upstreams), podRecords: flags.podRecords, ttl: flags.ttl, udpWorkers: flags.workers, logger });
  await dns.start();
  logger.info({ listen: dns.addresses.map((a) => `${a.host}:${a.port}`), zone: flags.clusterDomain, podRecords: flags.podRecords, ttl: flags.ttl, udpWorkers: flags.workers }, 'serving cluster DNS');
  return { dns, onStoreChange: (store, keys) => dns.update(store, changedServices(keys), keys.namespaces) };
}

export interface AgentDnsFlags extends DnsServingSettings {
  readonly listens: readonly string[];
  readonly upstreams: readonly string[];
}

export async function runAgent(
  cfg: AgentConfig, dnsFlags: AgentDnsFlags = { listens: [], upstreams: [], ...DNS_SERVING_DEFAULTS }, ingressOptions?: IngressRuntimeOptions, userspace?: UserspaceSettings,
): Promise<void> {
  const logger = createLogger({ format: cfg.logFormat, level: cfg.logLevel });
  const ingress = ingressOptions === undefined ? undefined : await startIngress(ingressOptions, logger);
  const source = createSource(cfg, logger, dnsFlags.listens.length > 0);
  // --source kubernetes: the Ingress kinds come from their own watches, and the served Ingresses get a status.
  const ingressKube = ingress === undefined || cfg.source !== 'kubernetes' ? undefined : new IngressKubernetes(ingress, { kubeConfig: agentKubeConfig(cfg), publishStatusAddresses: ingressOptions?.publishStatusAddresses ?? [], nodeName: ingressOptions?.nodeName ?? cfg.nodeName }, logger);
  ingressKube?.start();
  const ctx = nodeContextFrom({ ...cfg, nodeIPs: cfg.nodeIPs.length > 0 ? cfg.nodeIPs : detectNodeIPs() });
  logger.info({ requestedMode: cfg.mode, source: cfg.source, node: ctx.nodeName, nodeIPs: ctx.nodeIPs, ...(cfg.source === 'files' ? { manifests: cfg.manifests } : { master: cfg.master ?? 'from kubeconfig' }) }, 'starting svcplane');
  const deps = {
    ctx, logger, iptablesVariant: cfg.iptablesBackend, ipvsScheduler: cfg.ipvsScheduler,
    ebpf: { cgroupPath: cfg.ebpfCgroupPath, interfaces: cfg.ebpfInterfaces, algorithm: cfg.ebpfLbAlgorithm, ...(cfg.ebpfPinRoot ? { pinRoot: cfg.ebpfPinRoot } : {}) },
    ...(userspace ? { userspace } : {}),
  };
  const selection = await selectMode(cfg.mode, IMPLEMENTED_MODES, (mode) => probeMode(mode, deps));
  const metrics = new Metrics({ defaultMetrics: true });
  metrics.proxyMode.set({ mode: selection.mode, requested: cfg.mode }, 1);
  for (const f of selection.fallbacks) {
    metrics.modeFallbacks.inc({ mode: selection.mode, requested: cfg.mode });
    logger.warn({ requested: cfg.mode, tried: f.mode, reason: f.reason, using: selection.mode }, `proxy mode ${f.mode} is unavailable; falling back`);
  }
  const backend = await createBackend(selection.mode, deps);
  // Unprivileged userspace mode touches no kernel table, so it has no other mode's rules to remove.
  if (!(selection.mode === 'userspace' && userspace?.noRedirect !== undefined)) await cleanupOtherModes(selection.mode, deps);

  // kube-proxy's healthz allows two sync periods between successful syncs.
  const health = new HealthTracker(2 * cfg.syncPeriodMs + cfg.minSyncPeriodMs, Date.now, () => source.status(), {
    requested: cfg.mode,
    using: selection.mode,
    ...(selection.fallbacks.length > 0 ? { fallbacks: selection.fallbacks } : {}),
  });
  if (ingress !== undefined) health.addComponent('ingress', () => ingress.healthReport(ingressKube?.source.status()));
  const servers: Server[] = [
    await startHealthServer(parseBindAddress(cfg.healthzBindAddress, 'healthzBindAddress'), health),
    await startMetricsServer(parseBindAddress(cfg.metricsBindAddress, 'metricsBindAddress'), metrics.registry, health),
  ];
  const agentDns = await startAgentDns(dnsFlags, logger);
  const serviceHealth = new ServiceHealthServer({ logger, proxyHealthy: () => health.report().healthy });
  const agent = new Agent({
    ctx, source, backend, logger, metrics, health,
    ...(agentDns ? { onStoreChange: agentDns.onStoreChange } : {}),
    nodeIPsFixed: cfg.nodeIPs.length > 0,
    ...(cfg.serviceProxyName ? { serviceProxyName: cfg.serviceProxyName } : {}),
    conntrack: new ConntrackFlowCleaner(new Conntrack({}), logger),
    minSyncPeriodMs: cfg.minSyncPeriodMs,
    syncPeriodMs: cfg.syncPeriodMs,
    ...(ingress === undefined ? {} : { onEvents: (events) => ingress.handle(events) }),
    onSync: ({ state, ctx: synced }) => {
      const plan = planHealthChecks(state);
      void serviceHealth.update(plan.checks, healthCheckAddresses(synced), plan.conflicts);
    },
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    // As kube-proxy: stop syncing and leave every rule in place, so traffic keeps flowing.
    logger.info({ signal }, 'stopping; rules stay in place');
    void agent
      .stop()
      .then(() => ingressKube?.stop())
      .then(() => ingress?.stop())
      .then(() => Promise.all([...servers.map((s) => new Promise((r) => s.close(r))), agentDns?.dns.stop(), serviceHealth.close()]))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await agent.start();
}

/** `run --ingress`: nginx and the controller in the agent's process, fed by the same source. */
async function startIngress(options: IngressRuntimeOptions, logger: Logger): Promise<IngressRuntime> {
  const runtime = new IngressRuntime(options, logger, (code) => {
    logger.error({ code }, 'nginx exited; stopping');
    process.exit(1);
  });
  await runtime.start();
  logger.info({ http: options.http, https: options.https, stateDir: options.stateDir, nginxPid: runtime.nginxPid }, 'ingress controller started');
  return runtime;
}
