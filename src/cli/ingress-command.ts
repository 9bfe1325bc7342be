// `svcplane ingress`: the Ingress controller on its own, driving Debian's nginx
// as its child; IngressRuntime is also what `run --ingress` starts in the agent.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { createLogger, type Logger } from '../agent/logger.js';
import { SyncRunner } from '../agent/sync-runner.js';
import { IngressController, type SyncOutcome } from '../ingress/ingress-controller.js';
import { IngressHealth, type IngressHealthReport, type IngressSourceStatus } from '../ingress/ingress-health.js';
import { DEFAULT_INGRESS_CLASS } from '../ingress/ingress-store.js';
import { IngressView } from '../ingress/ingress-view.js';
import type { ListenAddress } from '../ingress/nginx-config.js';
import { NginxCertificates } from '../kernel/nginx-certs.js';
import { NginxProcess } from '../kernel/nginx-process.js';
import type { IngressBackend } from '../model/ingress-types.js';
import type { Node } from '../model/types.js';
import { DEFAULT_SERVICE_CIDRS } from '../sources/cluster-ip-allocator.js';
import { buildKubeConfig } from '../sources/kubernetes-config.js';
import { KubernetesSource } from '../sources/kubernetes-source.js';
import { ManifestSource } from '../sources/manifest-source.js';
import type { SourceEvent } from '../sources/source.js';
import { parseDuration } from '../util/duration.js';
import { SvcplaneError } from '../util/errors.js';
import { IngressKubernetes } from './ingress-kubernetes.js';

export class IngressOptionError extends SvcplaneError {
  override readonly code = 'SVCPLANE_INGRESS_OPTION';
}

export interface IngressRuntimeOptions {
  readonly http: ListenAddress;
  readonly https: ListenAddress;
  readonly stateDir: string;
  readonly nginx: string;
  readonly className: string;
  readonly watchWithoutClass: boolean;
  readonly defaultBackend: { readonly namespace: string; readonly backend: IngressBackend } | undefined;
  readonly serviceUpstream: boolean;
  readonly nodeName: string;
  readonly minSyncPeriodMs: number;
  readonly workerProcesses?: number | 'auto';
  /** nginx in this network namespace (the benchmark's). */
  readonly netns?: string;
  /** --publish-status-address: what Ingress statuses say (default: the Node's addresses). */
  readonly publishStatusAddresses?: readonly string[];
}

/** nginx, the controller and a bounded-frequency runner coalescing its reloads. */
export class IngressRuntime {
  private readonly nginx: NginxProcess;
  private readonly certificates: NginxCertificates;
  readonly controller: IngressController;
  private readonly view: IngressView;
  private readonly runner: SyncRunner;
  /** False while a separate source of the Ingress kinds has not delivered its first list. */
  private ingressKindsListed = true;
  private syncListener: ((outcome: SyncOutcome) => void) | undefined;
  private readonly health = new IngressHealth();
  /** This node's Node object, from the source (for the addresses Ingress statuses publish). */
  node: Node | undefined;

  constructor(private readonly options: IngressRuntimeOptions, private readonly logger: Logger, onNginxExit: (code: number | null) => void) {
    this.nginx = new NginxProcess({ binary: options.nginx, stateDir: options.stateDir, logger, ...(options.netns === undefined ? {} : { netns: options.netns }) }, onNginxExit);
    this.certificates = new NginxCertificates(`${options.stateDir.replace(/\/+$/, '')}/certs`);
    this.view = new IngressView({ ...options, ...(options.defaultBackend === undefined ? {} : { defaultBackend: options.defaultBackend }) });
    this.controller = new IngressController({
      view: this.view, nginx: this.nginx, certificates: this.certificates, http: options.http, https: options.https, stateDir: options.stateDir, logger,
      ...(options.workerProcesses === undefined ? {} : { workerProcesses: options.workerProcesses }),
    });
    this.runner = new SyncRunner(
      async () => {
        if (!this.view.synced || !this.ingressKindsListed) return;
        this.health.started();
        const started = performance.now();
        let outcome: SyncOutcome;
        try {
          outcome = await this.controller.sync();
        } catch (err) {
          this.health.failed(err);
          throw err;
        }
        this.health.succeeded(outcome, performance.now() - started);
        this.syncListener?.(outcome);
      },
      { minIntervalMs: options.minSyncPeriodMs, maxIntervalMs: 60_000, onError: (err, attempt) => logger.warn({ err, attempt }, 'ingress sync failed; nginx keeps its running config') },
    );
  }

  get nginxPid(): number | undefined {
    return this.nginx.pid;
  }

  async start(): Promise<void> {
    await this.nginx.prepare();
    await this.certificates.ensureDefault();
    const initial = this.controller.initialConfig();
    await this.nginx.start(initial);
    this.controller.markApplied(initial);
    this.runner.start();
  }

  /** The controller's part of the detailed /healthz; `source`: the Ingress kinds' own source, if any. */
  healthReport(source?: IngressSourceStatus): IngressHealthReport {
    return this.health.report({ nginxPid: this.nginx.pid, servicesListed: this.view.synced, ...(source === undefined ? {} : { source }) });
  }

  /** The Ingress kinds come from their own source (see ingress-kubernetes.ts): no sync before its first list. */
  expectIngressSource(onSynced: (outcome: SyncOutcome) => void): void {
    this.ingressKindsListed = false;
    this.health.expectIngressKinds();
    this.syncListener = onSynced;
  }

  /** A batch of that source: its 'synced' marks the Ingress kinds listed, not Services. */
  handleIngressKinds(events: readonly SourceEvent[]): void {
    if (events.some((e) => e.type === 'synced')) {
      this.ingressKindsListed = true;
      this.health.ingressKindsListed();
      this.health.changed();
      this.runner.request();
    }
    this.handle(events.filter((e) => e.type !== 'synced'));
  }

  /** A source batch: a sync is requested when routes may have changed. */
  handle(events: readonly SourceEvent[]): void {
    for (const e of events) if (e.type === 'node-upsert' && e.node.name === this.options.nodeName) this.node = e.node;
    const changed = this.controller.apply(events);
    if (changed || events.some((e) => e.type === 'synced')) {
      this.health.changed();
      this.runner.request();
    }
  }

  async stop(): Promise<void> {
    await this.runner.stop();
    await this.nginx.stop();
  }
}

export function parseListen(value: string, flag: string): ListenAddress {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (m?.[1] === undefined || isIP(m[1]) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new IngressOptionError(`${flag}: expected IP:PORT (e.g. 0.0.0.0:80 or [::]:443), got ${JSON.stringify(value)}`);
  }
  return { host: m[1], port };
}

/** --default-backend NS/NAME:PORT (a port number or name). */
export function parseDefaultBackend(value: string): { namespace: string; backend: IngressBackend } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z]([-a-z0-9]*[a-z0-9])?):([0-9]+|[a-z0-9-]+)$/.exec(value);
  if (m?.[1] === undefined || m[3] === undefined || m[5] === undefined) {
    throw new IngressOptionError(`--default-backend: expected NAMESPACE/SERVICE:PORT, got ${JSON.stringify(value)}`);
  }
  const port = /^[0-9]+$/.test(m[5]) ? Number(m[5]) : m[5];
  return { namespace: m[1], backend: { service: m[3], port } };
}

/** --publish-status-address: comma-separated IPs. */
export function parseAddresses(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return value.split(',').map((ip) => {
    if (isIP(ip.trim()) === 0) throw new IngressOptionError(`--publish-status-address: ${JSON.stringify(ip)} is not an IP address`);
    return ip.trim();
  });
}

function parseBool(value: string, flag: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new IngressOptionError(`${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

/** The ingress flags `run --ingress` accepts (listen addresses default to every address, ports 80 and 443). */
export function addRunIngressOptions(cmd: Command): Command {
  return cmd
    .option('--ingress', 'also run the Ingress controller (nginx as a child process)')
    .option('--http-listen <ip:port>', 'ingress: where nginx serves HTTP', '0.0.0.0:80')
    .option('--https-listen <ip:port>', 'ingress: where nginx serves HTTPS', '0.0.0.0:443')
    .option('--ingress-class <name>', 'ingress: the IngressClass name served', DEFAULT_INGRESS_CLASS)
    .option('--watch-ingress-without-class <bool>', 'ingress: serve Ingresses that name no class', 'true')
    .option('--default-backend <ns/name:port>', 'ingress: the service for requests no rule matches')
    .option('--service-upstream <bool>', 'ingress: proxy to cluster IPs (true) or endpoints (false)', 'true')
    .option('--ingress-state-dir <dir>', 'ingress: nginx config, pid file, logs, certificates', '/run/svcplane/ingress')
    .option('--nginx <path>', 'ingress: the nginx binary', '/usr/sbin/nginx')
    .option('--publish-status-address <ips>', 'ingress, with --source kubernetes: the addresses written to Ingress statuses (default: the Node\'s)');
}

/** The flags `run --ingress` and `ingress` share, parsed alike; `stateDir` is the value of whichever flag names it there. */
function sharedIngressOptions(opts: Record<string, unknown>, stateDir: string): Omit<IngressRuntimeOptions, 'nodeName' | 'minSyncPeriodMs' | 'workerProcesses'> {
  return {
    http: parseListen(String(opts['httpListen']), '--http-listen'),
    https: parseListen(String(opts['httpsListen']), '--https-listen'),
    stateDir,
    nginx: String(opts['nginx']),
    className: String(opts['ingressClass']),
    watchWithoutClass: parseBool(String(opts['watchIngressWithoutClass']), '--watch-ingress-without-class'),
    defaultBackend: typeof opts['defaultBackend'] === 'string' ? parseDefaultBackend(opts['defaultBackend']) : undefined,
    serviceUpstream: parseBool(String(opts['serviceUpstream']), '--service-upstream'),
    publishStatusAddresses: parseAddresses(opts['publishStatusAddress']),
  };
}

export function ingressOptionsFromRunFlags(opts: Record<string, unknown>, cfg: { readonly nodeName: string; readonly minSyncPeriodMs: number }): IngressRuntimeOptions {
  return { ...sharedIngressOptions(opts, String(opts['ingressStateDir'])), nodeName: cfg.nodeName, minSyncPeriodMs: Math.min(cfg.minSyncPeriodMs, 250) };
}

export function registerIngress(program: Command): void {
  program
    .command('ingress')
    .description('run the Ingress controller: nginx as a child process, programmed from Ingresses, Services and EndpointSlices')
    .option('--source <source>', 'files (manifests, the default) or kubernetes (the API server)', 'files')
    .option('--manifests <paths...>', 'manifest files or directories (--source files)')
    .option('--kubeconfig <path>', '--source kubernetes: kubeconfig file (default: in-cluster config, else $KUBECONFIG)')
    .option('--master <url>', '--source kubernetes: the API server\'s address (overrides the kubeconfig\'s)')
    .option('--publish-status-address <ips>', '--source kubernetes: the addresses written to Ingress statuses (default: the Node\'s)')
    .requiredOption('--http-listen <ip:port>', 'where nginx serves HTTP')
    .requiredOption('--https-listen <ip:port>', 'where nginx serves HTTPS')
    .option('--ingress-class <name>', 'the IngressClass name served', DEFAULT_INGRESS_CLASS)
    .option('--watch-ingress-without-class <bool>', 'serve Ingresses that name no class', 'true')
    .option('--default-backend <ns/name:port>', 'the service for requests no rule matches (default: a 404)')
    .option('--service-upstream <bool>', 'proxy to cluster IPs (true) or to endpoints directly (false)', 'true')
    .option('--state-dir <dir>', 'nginx config, pid file, logs, certificates and temp files', '/run/svcplane/ingress')
    .option('--nginx <path>', 'the nginx binary', '/usr/sbin/nginx')
    .option('--node-name <name>', 'this node (for endpoints on it)')
    .option('--service-cluster-ip-range <cidrs>', 'ranges for cluster IPs that manifests leave unset', DEFAULT_SERVICE_CIDRS.join(','))
    .option('--min-sync-period <duration>', 'minimum time between nginx reloads', '250ms')
    .option('--worker-processes <n>', 'nginx worker processes (a number or auto)', 'auto')
    .option('--log-format <format>', 'json or text', 'json')
    .action(async (opts: Record<string, string | string[] | undefined>) => {
      const sourceKind = String(opts['source']);
      if (sourceKind !== 'files' && sourceKind !== 'kubernetes') throw new IngressOptionError(`--source: expected files or kubernetes, got ${JSON.stringify(sourceKind)}`);
      const manifests = opts['manifests'];
      if (sourceKind === 'files' && (!Array.isArray(manifests) || manifests.length === 0)) throw new IngressOptionError('--manifests is required with --source files');
      const logger = createLogger({ format: opts['logFormat'] === 'text' ? 'text' : 'json' });
      const workers = String(opts['workerProcesses']);
      const options: IngressRuntimeOptions = {
        ...sharedIngressOptions(opts, String(opts['stateDir'])),
        nodeName: typeof opts['nodeName'] === 'string' ? opts['nodeName'] : (process.env['NODE_NAME'] ?? hostname()),
        minSyncPeriodMs: parseDuration(String(opts['minSyncPeriod']), '--min-sync-period'),
        workerProcesses: workers === 'auto' ? 'auto' : Number(workers),
      };
      const source: SourceChoice =
        sourceKind === 'files'
          ? { kind: 'files', manifests: manifests as string[], serviceCIDRs: String(opts['serviceClusterIpRange']).split(',') }
          : { kind: 'kubernetes', kubeConfig: buildKubeConfig({ ...(typeof opts['kubeconfig'] === 'string' ? { kubeconfig: opts['kubeconfig'] } : {}), ...(typeof opts['master'] === 'string' ? { master: opts['master'] } : {}) }) };
      await runIngress(options, source, logger);
    });
}

type SourceChoice = { readonly kind: 'files'; readonly manifests: readonly string[]; readonly serviceCIDRs: readonly string[] } | { readonly kind: 'kubernetes'; readonly kubeConfig: KubeConfig };

async function runIngress(options: IngressRuntimeOptions, choice: SourceChoice, logger: Logger): Promise<void> {
  let stopping = false;
  const runtime = new IngressRuntime(options, logger, (code) => {
    if (stopping) return;
    logger.error({ code }, 'nginx exited; stopping');
    process.exit(1);
  });
  // Kubernetes: Services, EndpointSlices and the Node from the L4 source (its Warning Events are the agent's to post), the Ingress kinds beside.
  const source =
    choice.kind === 'files'
      ? new ManifestSource({ paths: [...choice.manifests], serviceCIDRs: choice.serviceCIDRs, logger })
      : new KubernetesSource({ kubeConfig: choice.kubeConfig, nodeName: options.nodeName, logger, recordEvents: false });
  const kube = choice.kind === 'kubernetes' ? new IngressKubernetes(runtime, { kubeConfig: choice.kubeConfig, publishStatusAddresses: options.publishStatusAddresses ?? [], nodeName: options.nodeName }, logger) : undefined;
  await runtime.start();
  kube?.start();
  logger.info({ http: options.http, https: options.https, stateDir: options.stateDir, nginxPid: runtime.nginxPid }, 'ingress controller started');
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the ingress controller and nginx');
    void source
      .stop()
      .then(() => kube?.stop())
      .then(() => runtime.stop())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await source.start((events) => {
    for (const e of events) if (e.type === 'invalid') for (const err of e.errors) logger.warn({ problem: err.message }, 'invalid object skipped');
    runtime.handle(events);
  });
}
