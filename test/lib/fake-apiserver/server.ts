// A fake kube-apiserver over node:http speaking the real list and watch protocol
// for Services, EndpointSlices, Nodes, Ingresses, IngressClasses and Secrets (see the Kubernetes API concepts doc:
// "Efficient detection of changes", "Resource versions", "Watch bookmarks").
//  - LIST: 200 {kind: 'ServiceList', apiVersion, metadata: {resourceVersion}, items}, items without kind/apiVersion.
//  - WATCH (?watch=1|true): 200, chunked, one JSON event per line; from resourceVersion N it replays the
//    retained changes after N, then streams live ones; without N (or N=0) it starts with synthetic ADDED
//    events for the current objects. N older than the retained history: an ERROR event carrying a
//    410 Expired Status, then the stream ends (what the watch cache does).
//  - LIST pages (?limit=N, ?continue=TOKEN), one snapshot per list, 410 Expired once compacted: see list.ts.
//  - Events: POST /apis/events.k8s.io/v1/namespaces/NS/events creates an Event (validated as the real
//    server does, 422 when invalid), kept in `events`; rejectEvents() answers them 403 as RBAC would.
//  - Status: PUT .../NAME/status replaces the stored object's status (409 on a stale resourceVersion), see status-update.ts.
//  - Selectors filter as the watch cache does: an object moving out of a selector is DELETED, into it ADDED.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { apiVersionOf, parsePath, type ResourceName, type ResourceType } from './resources.js';
import { type Json, type ObjectPredicate, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { EVENTS_PATH, FakeEvents } from './events.js';
import { serveList } from './list.js';
import { updateStatus } from './status-update.js';
import { sendJson, statusObject } from './status.js';
import { type Change, FakeStore } from './store.js';

export interface FakeApiServerOptions {
  /** Changes retained per resource for watches to resume from (kube-apiserver's watch cache holds 100+). */
  readonly historyLimit?: number;
  /** How often bookmark-enabled watches get a BOOKMARK (the real server: about once a minute). */
  readonly bookmarkIntervalMs?: number;
  readonly initialResourceVersion?: number;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly watch: boolean;
  readonly status: number;
}

interface OpenWatch {
  readonly type: ResourceType;
  readonly response: ServerResponse;
  readonly bookmarks: boolean;
  /** Stops feeding the stream (no more events, bookmarks or timeout). */
  detach(): void;
  close(): void;
}


function typed(type: ResourceType, object: Json): Json {
  return { kind: type.kind, apiVersion: apiVersionOf(type), ...object };
}

function withResourceVersion(object: Json, rv: number): Json {
  const copy = structuredClone(object);
  (copy['metadata'] as Json)['resourceVersion'] = String(rv);
  return copy;
}

export { statusObject };

export class FakeApiServer {
  readonly store: FakeStore;
  readonly requests: RequestRecord[] = [];
  private readonly eventStore = new FakeEvents();
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<OpenWatch>();
  private readonly heldLists = new Map<ResourceName, (() => void)[]>();
  private readonly heldContinues = new Map<ResourceName, (() => void)[]>();
  private readonly expiringContinues = new Map<ResourceName, number>();
  private readonly bookmarkIntervalMs: number;

  constructor(options: FakeApiServerOptions = {}) {
    this.store = new FakeStore(options.historyLimit ?? 100, options.initialResourceVersion);
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openWatchCount(): number {
    return this.watches.size;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address !== null && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  /** The API server goes away: every connection is cut, nothing listens. State is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const watch of this.watches) watch.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back on the same port, with the same objects and history. */
  async restart(): Promise<void> {
    await this.start();
  }

  create(resource: ResourceName, object: Json): Json {
    return this.store.create(resource, object);
  }

  update(resource: ResourceName, object: Json): Json {
    return this.store.update(resource, object);
  }

  delete(resource: ResourceName, namespace: string | undefined, name: string): Json {
    return this.store.delete(resource, namespace, name);
  }

  compact(): void {
    this.store.compact();
  }

  /** Cuts every open watch mid-stream (the TCP connection dies; no clean end of the chunked body). */
  dropWatches(): void {
    for (const watch of [...this.watches]) {
      watch.detach();
      watch.response.socket?.destroy();
    }
  }

  /** Ends every open watch cleanly, as the server does when a watch's timeout expires. */
  closeWatches(): void {
    for (const watch of [...this.watches]) watch.close();
  }

  /** Sends a BOOKMARK now to every watch that allowed them. */
  sendBookmarks(): void {
    for (const watch of this.watches) if (watch.bookmarks) this.writeBookmark(watch);
  }

  /** LISTs of `resource` wait until the returned function is called (a slow API server). */
  holdLists(resource: ResourceName): () => void {
    this.heldLists.set(resource, this.heldLists.get(resource) ?? []);
    return () => {
      const waiting = this.heldLists.get(resource) ?? [];
      this.heldLists.delete(resource);
      for (const release of waiting) release();
    };
  }

  /** LISTs of `resource` asking for a next page (?continue=) wait until the returned function is called. */
  holdContinuedLists(resource: ResourceName): () => void {
    this.heldContinues.set(resource, this.heldContinues.get(resource) ?? []);
    return () => {
      const waiting = this.heldContinues.get(resource) ?? [];
      this.heldContinues.delete(resource);
      for (const release of waiting) release();
    };
  }

  /** The next `count` continued LISTs of `resource` get 410 Expired, as if etcd compacted just before each. */
  expireNextContinues(resource: ResourceName, count: number): void {
    this.expiringContinues.set(resource, count);
  }

  /** Event creation is forbidden (403) until called with false: a cluster whose RBAC lacks the grant. */
  rejectEvents(forbidden = true): void {
    this.eventStore.forbidden = forbidden;
  }

  /** Event creates wait until the returned function is called (a slow API server). */
  holdEvents(): () => void {
    return this.eventStore.hold();
  }

  get heldEventCount(): number {
    return this.eventStore.heldCount;
  }

  /** Events created by clients, in order, as stored. */
  get events(): readonly Json[] {
    return this.eventStore.events;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const isWatch = query['watch'] === 'true' || query['watch'] === '1';
    const record = (status: number): void => {
      this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, watch: isWatch, status });
    };
    const eventsNamespace = EVENTS_PATH.exec(url.pathname)?.[1];
    if (eventsNamespace !== undefined && req.method === 'POST') {
      this.eventStore.create(req, res, decodeURIComponent(eventsNamespace), record);
      return;
    }
    const parsed = parsePath(url.pathname);
    if (parsed === undefined) {
      record(404);
      sendJson(res, 404, statusObject(404, 'NotFound', 'the server could not find the requested resource', {}));
      return;
    }
    if (parsed.subresource === 'status' && req.method === 'PUT') {
      void updateStatus(this.store, parsed, req, res).then(record);
      return;
    }
    if (req.method !== 'GET' || parsed.subresource !== undefined) {
      record(405);
      sendJson(res, 405, statusObject(405, 'MethodNotAllowed', `the fake API server only serves GET (got ${req.method ?? ''})`));
      return;
    }
    let matches: ObjectPredicate;
    try {
      const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
      const namespace = parsed.namespace;
      matches = (o) => labels(o) && fields(o) && (namespace === undefined || (o['metadata'] as Json)['namespace'] === namespace);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      record(400);
      sendJson(res, 400, statusObject(400, 'BadRequest', err.message));
      return;
    }
    if (parsed.name !== undefined && !isWatch) {
      const object = this.store.get(parsed.type.name, parsed.namespace, parsed.name);
      record(object === undefined ? 404 : 200);
      if (object === undefined) {
        const details = { name: parsed.name, kind: parsed.type.name, ...(parsed.type.group ? { group: parsed.type.group } : {}) };
        sendJson(res, 404, statusObject(404, 'NotFound', `${parsed.type.name} "${parsed.name}" not found`, details));
      } else {
        sendJson(res, 200, typed(parsed.type, object));
      }
      return;
    }
    if (isWatch) {
      record(200);
      this.serveWatch(parsed.type, url.searchParams, matches, res);
      return;
    }
    const held = (url.searchParams.get('continue') ?? '') === '' ? this.heldLists.get(parsed.type.name) : this.heldContinues.get(parsed.type.name);
    const serve = (): void => record(serveList(this.store, this.expiringContinues, parsed.type, url.searchParams, matches, res));
    if (held === undefined) serve();
    else held.push(serve);
  }

  private serveWatch(type: ResourceType, params: URLSearchParams, matches: ObjectPredicate, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const write = (event: Json): void => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(event)}\n`);
    };
    const requested = params.get('resourceVersion') ?? '';
    const n = requested === '' ? 0 : Number(requested);
    if (!Number.isInteger(n) || n < 0) {
      write({ type: 'ERROR', object: statusObject(400, 'BadRequest', `invalid resource version "${requested}"`) });
      res.end();
      return;
    }
    const current = this.store.resourceVersion;
    if (n > current) {
      write({ type: 'ERROR', object: statusObject(504, 'Timeout', `Too large resource version: ${n}, current: ${current}`) });
      res.end();
      return;
    }
    const floor = n === 0 ? undefined : this.store.expiredFloor(type.name, n);
    if (floor !== undefined) {
      write({ type: 'ERROR', object: statusObject(410, 'Expired', `too old resource version: ${n} (${floor})`) });
      res.end();
      return;
    }

    const send = (change: Change): void => {
      const event = this.filterChange(change, matches);
      if (event !== undefined) write({ type: event.type, object: typed(type, event.object) });
    };
    if (n === 0) {
      for (const object of this.store.list(type.name).filter(matches)) write({ type: 'ADDED', object: typed(type, object) });
    } else {
      for (const change of this.store.changesSince(type.name, n)) send(change);
    }
    const unsubscribe = this.store.subscribe((change) => {
      if (change.resource === type.name) send(change);
    });

    const timers: NodeJS.Timeout[] = [];
    const watch: OpenWatch = {
      type,
      response: res,
      bookmarks: params.get('allowWatchBookmarks') === 'true',
      detach: () => cleanup(),
      close: () => {
        cleanup();
        if (!res.writableEnded) res.end();
      },
    };
    const cleanup = (): void => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      this.watches.delete(watch);
    };
    this.watches.add(watch);
    res.on('close', cleanup);
    if (watch.bookmarks) timers.push(setInterval(() => this.writeBookmark(watch), this.bookmarkIntervalMs));
    const timeoutSeconds = Number(params.get('timeoutSeconds') ?? '');
    if (timeoutSeconds > 0) timers.push(setTimeout(() => watch.close(), timeoutSeconds * 1000));
  }

  /** What a watch with this selector sees of a change (the watch cache's transitions). */
  private filterChange(change: Change, matches: ObjectPredicate): { type: string; object: Json } | undefined {
    const now = change.type !== 'DELETED' && matches(change.object);
    const before = change.previous !== undefined && matches(change.previous);
    if (change.type === 'DELETED') return before ? { type: 'DELETED', object: change.object } : undefined;
    if (now && before) return { type: 'MODIFIED', object: change.object };
    if (now) return { type: 'ADDED', object: change.object };
    // Moved out of the selector: the watcher sees its previous state deleted at this resourceVersion.
    if (before && change.previous !== undefined) return { type: 'DELETED', object: withResourceVersion(change.previous, change.rv) };
    return undefined;
  }

  private writeBookmark(watch: OpenWatch): void {
    const object = { kind: watch.type.kind, apiVersion: apiVersionOf(watch.type), metadata: { resourceVersion: String(this.store.resourceVersion) } };
    if (!watch.response.writableEnded && !watch.response.destroyed) watch.response.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }

}
