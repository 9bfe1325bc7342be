// The requests the Kubernetes sources make, on client-node's KubeConfig:
// LIST (plain GETs in pages of 500, keeping the objects as the API server's
// JSON, which the model validators read) and WATCH (client-node's Watch, asking for bookmarks
// and telling when a watch is established or ends, for status()).
import http from 'node:http';
import https from 'node:https';
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { SvcplaneError } from '../util/errors.js';

export const LIST_TIMEOUT_MS = 60_000;
/** Objects per LIST page: client-go's pager default, which the reflector uses. */
export const LIST_PAGE_SIZE = 500;
/** Times a paginated list restarts from the first page after its continue token expired. */
export const LIST_EXPIRED_RESTARTS = 3;

/** A failed API request; `statusCode` is the HTTP status (0 when no response came). */
export class KubernetesApiError extends SvcplaneError {
  override readonly code = 'SVCPLANE_KUBERNETES_API';
  constructor(
    message: string,
    readonly statusCode: number,
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The API server's Status message and reason, when the body is one. */
function describeFailure(status: number, body: string): { message: string; reason: string | undefined } {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && parsed['kind'] === 'Status') {
      const reason = typeof parsed['reason'] === 'string' ? parsed['reason'] : undefined;
      return { message: `HTTP ${status}: ${String(parsed['message'] ?? reason ?? '')}`, reason };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: `HTTP ${status}: ${body.slice(0, 200)}`, reason: undefined };
}

/** One request with the kubeconfig's server, credentials and TLS settings; resolves to the status and body. */
async function send(
  kubeConfig: KubeConfig,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  query: Readonly<Record<string, string>>,
  payload: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: string; url: URL }> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new KubernetesApiError('kubeconfig has no current cluster', 0);
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const headers: Record<string, string | number> = { ...(options.headers as Record<string, string> | undefined), Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { ...options, method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), url }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new KubernetesApiError(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`, 0)));
    req.on('error', (err) => reject(err instanceof KubernetesApiError ? err : new KubernetesApiError(`${method} ${url.pathname}: ${err.message}`, 0, undefined, { cause: err })));
    req.end(payload);
  });
}

/** POST `object` to the collection at `path` (a create); resolves once the server answered 201 (or 200). */
export async function createObject(kubeConfig: KubeConfig, path: string, object: unknown, timeoutMs = LIST_TIMEOUT_MS): Promise<void> {
  const { status, body, url } = await send(kubeConfig, 'POST', path, {}, JSON.stringify(object), timeoutMs);
  if (status !== 201 && status !== 200) {
    const { message, reason } = describeFailure(status, body);
    throw new KubernetesApiError(`POST ${url.pathname}: ${message}`, status, reason);
  }
}

/** PUT `object` at `path` (an update, e.g. a status subresource); resolves once the server answered 200. */
export async function replaceObject(kubeConfig: KubeConfig, path: string, object: unknown, timeoutMs = LIST_TIMEOUT_MS): Promise<void> {
  const { status, body, url } = await send(kubeConfig, 'PUT', path, {}, JSON.stringify(object), timeoutMs);
  if (status !== 200 && status !== 201) {
    const { message, reason } = describeFailure(status, body);
    throw new KubernetesApiError(`PUT ${url.pathname}: ${message}`, status, reason);
  }
}

/**
 * GET `path` (a collection) with `query`; resolves to the list as the server sent it.
 * Items stay raw JSON: they are validated by the model's validators, not client-node's models.
 */
export async function listCollection(
  kubeConfig: KubeConfig,
  path: string,
  query: Readonly<Record<string, string>>,
  timeoutMs = LIST_TIMEOUT_MS,
): Promise<KubernetesListObject<KubernetesObject>> {
  const { status, body, url } = await send(kubeConfig, 'GET', path, query, undefined, timeoutMs);
  if (status !== 200) {
    const { message, reason } = describeFailure(status, body);
    throw new KubernetesApiError(`GET ${url.pathname}: ${message}`, status, reason);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new KubernetesApiError(`GET ${url.pathname}: response is not JSON`, status, undefined, { cause: err });
  }
  if (!isRecord(parsed) || !Array.isArray(parsed['items']) || !isRecord(parsed['metadata'])) {
    throw new KubernetesApiError(`GET ${url.pathname}: response is not a list`, status);
  }
  const items: unknown[] = parsed['items'];
  const resourceVersion = parsed['metadata']['resourceVersion'];
  const next = parsed['metadata']['continue'];
  // Items stay the API's JSON; KubernetesObject only describes the metadata ListWatch reads.
  return {
    metadata: { resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '', ...(typeof next === 'string' && next !== '' ? { _continue: next } : {}) },
    items: items as KubernetesObject[],
  };
}

/** Why a continued list was refused: its token outlived the server's history (etcd compaction). */
export function isExpiredContinue(err: unknown): boolean {
  return err instanceof KubernetesApiError && err.statusCode === 410 && err.reason === 'Expired';
}

export interface PagedListOptions {
  readonly pageSize?: number;
  readonly timeoutMs?: number;
  /** Told when an expired continue token made the list start over. */
  readonly onRestart?: (pagesDiscarded: number) => void;
}

/**
 * The whole collection, fetched `limit` objects at a time and following `continue`
 * tokens, as client-go's pager does, so the API server never builds one huge
 * response. Every page comes from one snapshot; when the token expires (410
 * Expired) the snapshot is gone and the list starts again from the first page.
 */
export async function listAllPages(
  kubeConfig: KubeConfig,
  path: string,
  query: Readonly<Record<string, string>>,
  options: PagedListOptions = {},
): Promise<KubernetesListObject<KubernetesObject>> {
  const limit = String(options.pageSize ?? LIST_PAGE_SIZE);
  for (let restarts = 0; ; restarts++) {
    const items: KubernetesObject[] = [];
    let token: string | undefined;
    let pages = 0;
    try {
      for (;;) {
        const page = await listCollection(kubeConfig, path, { ...query, limit, ...(token === undefined ? {} : { continue: token }) }, options.timeoutMs);
        pages++;
        items.push(...page.items);
        token = page.metadata?._continue;
        if (token === undefined) return { metadata: { resourceVersion: page.metadata?.resourceVersion ?? '' }, items };
      }
    } catch (err) {
      // Only a continued page can expire mid-list; a first page's 410 is the caller's to handle.
      if (pages === 0 || !isExpiredContinue(err) || restarts >= LIST_EXPIRED_RESTARTS) throw err;
      options.onRestart?.(pages);
    }
  }
}

export interface WatchObserver {
  /** false once the source stopped: ListWatch may still try to (re)connect after its stop(). */
  active(): boolean;
  /** The server answered 200 and the event stream is open. */
  established(): void;
  /** The stream ended; `err` undefined for a clean end (the server's timeout). */
  ended(err: unknown): void;
}

/**
 * client-node's Watch with `allowWatchBookmarks=true` (bookmarks keep the resume
 * point fresh on quiet resources, so a reconnect rarely needs a relist) and
 * connection reporting.
 */
export class ObservedWatch extends Watch {
  constructor(
    kubeConfig: KubeConfig,
    private readonly observer: WatchObserver,
  ) {
    super(kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (!this.observer.active()) {
      // An aborted controller and no done(): the informer stays idle.
      const idle = new AbortController();
      idle.abort();
      return idle;
    }
    let ended = false;
    const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, (err: unknown) => {
      ended = true;
      this.observer.ended(err ?? undefined);
      done(err);
    });
    if (!this.observer.active()) {
      // Stopped while connecting: ListWatch.stop() could not abort a request it did not have yet.
      controller.abort();
    } else if (!ended) {
      this.observer.established();
    }
    return controller;
  }
}
