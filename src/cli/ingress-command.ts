// `svcplane ingress`: the Ingress controller on its own, driving Debian's nginx
// as its child; IngressRuntime is also what `run --ingress` starts in the agent.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createLogger, type Logger } from '../agent/logger.js';
import { SyncRunner } from '../agent/sync-runner.js';
import { IngressController } from '../ingress/ingress-controller.js';
import { DEFAULT_INGRESS_CLASS } from '../ingress/ingress-store.js';
import { IngressView } from '../ingress/ingress-view.js';
import type { ListenAddress } from '../ingress/nginx-config.js';
import { NginxCertificates } from '../kernel/nginx-certs.js';
import { NginxProcess } from '../kernel/nginx-process.js';
import type { IngressBackend } from '../model/ingress-types.js';
import { DEFAULT_SERVICE_CIDRS } from '../sources/cluster-ip-allocator.js';
import { ManifestSource } from '../sources/manifest-source.js';
import type { SourceEvent } from '../sources/source.js';
import { parseDuration } from '../util/duration.js';
import { SvcplaneError } from '../util/errors.js';

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
}

/** nginx, the controller and a bounded-frequency runner coalescing its reloads. */
export class IngressRuntime {
  private readonly nginx: NginxProcess;
  private readonly certificates: NginxCertificates;
  readonly controller: IngressController;
  private readonly view: IngressView;
  private readonly runner: SyncRunner;

  constructor(options: IngressRuntimeOptions, private readonly logger: Logger, onNginxExit: (code: number | null) => void) {
    this.nginx = new NginxProcess({ binary: options.nginx, stateDir: options.stateDir, logger, ...(options.netns === undefined ? {} : { netns: options.netns }) }, onNginxExit);
    this.certificates = new NginxCertificates(`${options.stateDir.replace(/\/+$/, '')}/certs`);
    this.view = new IngressView({ ...options, ...(options.defaultBackend === undefined ? {} : { defaultBackend: options.defaultBackend }) });
    this.controller = new IngressController({
      view: this.view, nginx: this.nginx, certificates: this.certificates, http: options.http, https: options.https, stateDir: options.stateDir, logger,
      ...(options.workerProcesses === undefined ? {} : { workerProcesses: options.workerProcesses }),
    });
    this.runner = new SyncRunner(
      async () => {
        if (this.view.synced) await this.controller.sync();
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

  /** A source batch: a sync is requested when routes may have changed. */
  handle(events: readonly SourceEvent[]): void {
    const changed = this.controller.apply(events);
    if (changed || events.some((e) => e.type === 'synced')) this.runner.request();
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
    .option('--nginx <path>', 'ingress: the nginx binary', '/usr/sbin/nginx');
}

export function ingressOptionsFromRunFlags(opts: Record<string, unknown>, cfg: { readonly nodeName: string; readonly minSyncPeriodMs: number }): IngressRuntimeOptions {
  return {
    http: parseListen(String(opts['httpListen']), '--http-listen'),
    https: parseListen(String(opts['httpsListen']), '--https-listen'),
    stateDir: String(opts['ingressStateDir']),
    nginx: String(opts['nginx']),
    className: String(opts['ingressClass']),
    watchWithoutClass: parseBool(String(opts['watchIngressWithoutClass']), '--watch-ingress-without-class'),
    defaultBackend: typeof opts['defaultBackend'] === 'string' ? parseDefaultBackend(opts['defaultBackend']) : undefined,
    serviceUpstream: parseBool(String(opts['serviceUpstream']), '--service-upstream'),
    nodeName: cfg.nodeName,
    minSyncPeriodMs: Math.min(cfg.minSyncPeriodMs, 250),
  };
}

export function registerIngress(program: Command): void {
  program
    .command('ingress')
    .description('run the Ingress controller: nginx as a child process, programmed from Ingresses, Services and EndpointSlices')
    .option('--source <source>', 'files (manifests, the default); kubernetes is not supported by the ingress controller yet')
    .option('--manifests <paths...>', 'manifest files or directories')
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
      if (opts['source'] !== undefined && opts['source'] !== 'files') throw new IngressOptionError('--source: only "files" is supported by the ingress controller for now');
      const manifests = opts['manifests'];
      if (!Array.isArray(manifests) || manifests.length === 0) throw new IngressOptionError('--manifests is required');
      const logger = createLogger({ format: opts['logFormat'] === 'text' ? 'text' : 'json' });
      const workers = String(opts['workerProcesses']);
      const options: IngressRuntimeOptions = {
        http: parseListen(String(opts['httpListen']), '--http-listen'),
        https: parseListen(String(opts['httpsListen']), '--https-listen'),
        stateDir: String(opts['stateDir']),
        nginx: String(opts['nginx']),
        className: String(opts['ingressClass']),
        watchWithoutClass: parseBool(String(opts['watchIngressWithoutClass']), '--watch-ingress-without-class'),
        defaultBackend: typeof opts['defaultBackend'] === 'string' ? parseDefaultBackend(opts['defaultBackend']) : undefined,
        serviceUpstream: parseBool(String(opts['serviceUpstream']), '--service-upstream'),
        nodeName: typeof opts['nodeName'] === 'string' ? opts['nodeName'] : (process.env['NODE_NAME'] ?? hostname()),
        minSyncPeriodMs: parseDuration(String(opts['minSyncPeriod']), '--min-sync-period'),
        workerProcesses: workers === 'auto' ? 'auto' : Number(workers),
      };
      await runIngress(options, manifests, String(opts['serviceClusterIpRange']).split(','), logger);
    });
}

async function runIngress(options: IngressRuntimeOptions, manifests: readonly string[], serviceCIDRs: readonly string[], logger: Logger): Promise<void> {
  let stopping = false;
  const runtime = new IngressRuntime(options, logger, (code) => {
    if (stopping) return;
    logger.error({ code }, 'nginx exited; stopping');
    process.exit(1);
  });
  const source = new ManifestSource({ paths: [...manifests], serviceCIDRs, logger });
  await runtime.start();
  logger.info({ http: options.http, https: options.https, stateDir: options.stateDir, nginxPid: runtime.nginxPid }, 'ingress controller started');
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the ingress controller and nginx');
    void source
      .stop()
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
