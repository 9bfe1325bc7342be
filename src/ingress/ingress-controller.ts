// The controller's sync: route table -> nginx config -> nginx. A config nginx
// refuses never replaces the running one: the Ingress that produced the
// offending line is left out and reported, and the rest is tried again.
import type { ValidationError } from '../model/errors.js';
import type { TLSSecret } from '../model/ingress-types.js';
import type { SourceEvent } from '../sources/source.js';
import { SvcplaneError } from '../util/errors.js';
import type { IngressView } from './ingress-view.js';
import { changedPartsConfig, renderNginxConfig, type ListenAddress, type RenderedConfig, type RenderOptions } from './nginx-config.js';
import type { RouteTable } from './route-table.js';
import { NginxRenderError } from './nginx-escape.js';

export class IngressSyncError extends SvcplaneError {
  override readonly code = 'SVCPLANE_INGRESS_SYNC';
}

/** What the controller needs of nginx (src/kernel/nginx-process.ts). */
export interface NginxControl {
  /** `checkOnly`: what `nginx -t` reads instead of `text` (its changed parts); the reload parses `text`. */
  apply(text: string, checkOnly?: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly message: string; readonly line: number | undefined }>;
}

/** What the controller needs of the certificate files (src/kernel/nginx-certs.ts). */
export interface CertificateFiles {
  fileName(secret: TLSSecret | undefined): string;
  write(secrets: readonly TLSSecret[]): Promise<void>;
  prune(secrets: readonly TLSSecret[]): Promise<void>;
}

export interface ControllerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface IngressControllerOptions {
  readonly view: IngressView;
  readonly nginx: NginxControl;
  readonly certificates: CertificateFiles;
  readonly http: ListenAddress;
  readonly https: ListenAddress;
  readonly stateDir: string;
  readonly logger: ControllerLogger;
  readonly workerProcesses?: number | 'auto';
}

export interface SyncOutcome {
  readonly reloaded: boolean;
  readonly problems: readonly ValidationError[];
  /** Ingresses left out because nginx (or the renderer) refused what they produced. */
  readonly excluded: readonly string[];
  /** `namespace/name` of the Ingresses nginx now serves (their status gets this node's addresses). */
  readonly served: ReadonlySet<string>;
}

const MAX_EXCLUSIONS = 20;

export class IngressController {
  private applied: string | undefined;
  /** The server blocks of the config nginx runs, when this controller rendered it. */
  private appliedServers: ReadonlySet<string> | undefined;
  private reported = new Set<string>();

  constructor(private readonly options: IngressControllerOptions) {}

  /** Feeds a source batch; true when a sync is needed. */
  apply(events: readonly SourceEvent[]): boolean {
    return this.options.view.apply(events);
  }

  /** What nginx starts on: the catch-all 404 alone (the first sync then reloads into the routes). */
  initialConfig(): string {
    const empty: RouteTable = { servers: [{ host: '', tls: undefined, appRoot: undefined, routes: [], regex: false }], upstreams: new Map(), defaultUpstream: undefined, problems: [] };
    return renderNginxConfig(empty, this.renderOptions()).text;
  }

  private renderOptions(): RenderOptions {
    return {
      http: this.options.http,
      https: this.options.https,
      stateDir: this.options.stateDir,
      certFile: (secret) => this.options.certificates.fileName(secret),
      ...(this.options.workerProcesses === undefined ? {} : { workerProcesses: this.options.workerProcesses }),
    };
  }

  private render(excluded: ReadonlySet<string>): RenderedConfig & { secrets: TLSSecret[]; problems: readonly ValidationError[] } {
    const table = this.options.view.routeTable(excluded);
    const secrets = table.servers.flatMap((s) => (s.tls?.secret === undefined ? [] : [s.tls.secret]));
    const rendered = renderNginxConfig(table, this.renderOptions());
    return { ...rendered, secrets, problems: table.problems };
  }

  async sync(): Promise<SyncOutcome> {
    const started = performance.now();
    const excluded = new Set<string>();
    const refusals: string[] = [];
    for (let attempt = 0; attempt <= MAX_EXCLUSIONS; attempt++) {
      let rendered;
      try {
        rendered = this.render(excluded);
      } catch (err) {
        if (!(err instanceof NginxRenderError) || err.owner === undefined || excluded.has(err.owner)) throw err;
        excluded.add(err.owner);
        refusals.push(`Ingress ${err.owner}: ${err.message}; left out`);
        continue;
      }
      if (rendered.text === this.applied) return this.finish(false, rendered.problems, excluded, refusals, 0, 0);
      await this.options.certificates.write(rendered.secrets);
      const rendering = performance.now() - started;
      const result = await this.applyToNginx(rendered);
      if (result.ok) {
        this.applied = rendered.text;
        this.appliedServers = new Set(rendered.servers);
        await this.options.certificates.prune(rendered.secrets);
        return this.finish(true, rendered.problems, excluded, refusals, rendering, performance.now() - started - rendering);
      }
      const owner = result.line === undefined ? undefined : rendered.owners.get(result.line);
      if (owner === undefined || excluded.has(owner)) {
        throw new IngressSyncError(`nginx refused the new config and no Ingress could be blamed; the running config stays: ${result.message}`);
      }
      excluded.add(owner);
      refusals.push(`Ingress ${owner}: nginx refused its configuration (${result.message}); left out`);
    }
    throw new IngressSyncError(`more than ${MAX_EXCLUSIONS} Ingresses refused by nginx in one sync; the running config stays`);
  }

  /**
   * nginx -t of the changed server blocks only (with the upstreams), then the reload, which
   * parses everything and keeps the old workers on any error; after a refusal, the whole
   * config goes through nginx -t, whose line numbers name the Ingress to leave out.
   */
  private async applyToNginx(rendered: RenderedConfig): ReturnType<NginxControl['apply']> {
    if (this.appliedServers !== undefined) {
      const fast = await this.options.nginx.apply(rendered.text, changedPartsConfig(rendered, this.appliedServers));
      if (fast.ok) return fast;
      this.options.logger.info({ problem: fast.message }, 'nginx refused the changed parts; checking the whole config to find the Ingress');
    }
    return this.options.nginx.apply(rendered.text);
  }

  /** Reports each problem once, for as long as it lasts. */
  private finish(reloaded: boolean, problems: readonly ValidationError[], excluded: ReadonlySet<string>, refusals: readonly string[], renderMs: number, nginxMs: number): SyncOutcome {
    const now = new Set([...problems.map((p) => p.message), ...refusals]);
    for (const message of now) if (!this.reported.has(message)) this.options.logger.warn({ problem: message }, 'ingress problem');
    this.reported = now;
    if (reloaded) {
      // renderMs: route table, config and certificate files; nginxMs: nginx -t, then the reload until new workers run.
      this.options.logger.info({ ingresses: this.options.view.ingresses.ingressCount, excluded: [...excluded], renderMs: Math.round(renderMs), nginxMs: Math.round(nginxMs) }, 'nginx reloaded');
    }
    return { reloaded, problems, excluded: [...excluded], served: this.options.view.servedKeys(excluded) };
  }

  /** Marks `text` as what nginx runs (after starting nginx on it). */
  markApplied(text: string): void {
    this.applied = text;
    this.appliedServers = undefined;
  }
}
