// LIST for the fake API server: the whole collection, or pages (?limit=N, then
// ?continue=TOKEN) all cut from the snapshot at the first page's resourceVersion;
// a token whose resourceVersion was compacted away is 410 Expired, as etcd's.
import type { ServerResponse } from 'node:http';
import { apiVersionOf, type ResourceName, type ResourceType } from './resources.js';
import type { Json, ObjectPredicate } from './selectors.js';
import { sendJson, statusObject } from './status.js';
import type { FakeStore } from './store.js';

interface ContinueToken {
  readonly resource: ResourceName;
  readonly rv: number;
  readonly offset: number;
}

// Opaque to clients, as the real server's (base64 JSON there too).
function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(text: string): ContinueToken | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    const { resource, rv, offset } = parsed;
    if (typeof resource !== 'string' || !Number.isInteger(rv) || !Number.isInteger(offset)) return undefined;
    return { resource: resource as ResourceName, rv: rv as number, offset: offset as number };
  } catch {
    return undefined;
  }
}

/** `expiring`: per resource, how many continued LISTs still get a forced 410. */
export function serveList(store: FakeStore, expiring: Map<ResourceName, number>, type: ResourceType, params: URLSearchParams, matches: ObjectPredicate, res: ServerResponse): number {
  const limit = Number(params.get('limit') ?? '0');
  if (!Number.isInteger(limit) || limit < 0) {
    return sendJson(res, 400, statusObject(400, 'BadRequest', `invalid limit "${params.get('limit') ?? ''}"`));
  }
  const token = params.get('continue') ?? '';
  if (token !== '') return serveContinue(store, expiring, type, token, limit, matches, res);
  const requested = params.get('resourceVersion') ?? '';
  const match = params.get('resourceVersionMatch') ?? '';
  const current = store.resourceVersion;
  let items = store.list(type.name);
  let rv = current;
  if (requested !== '' && requested !== '0') {
    const n = Number(requested);
    if (!Number.isInteger(n) || n < 0) {
      return sendJson(res, 400, statusObject(400, 'BadRequest', `invalid resource version "${requested}"`));
    }
    if (n > current) {
      return sendJson(res, 504, statusObject(504, 'Timeout', `Too large resource version: ${n}, current: ${current}`));
    }
    if (match === 'Exact') {
      const past = store.listAt(type.name, n);
      if (past === undefined) {
        return sendJson(res, 410, statusObject(410, 'Expired', 'The resourceVersion for the provided list is too old.'));
      }
      items = past;
      rv = n;
    }
  }
  return sendPage(type, items.filter(matches), rv, 0, limit, res);
}

/** The next page of a paginated list, from the snapshot at the token's resourceVersion. */
function serveContinue(store: FakeStore, expiring: Map<ResourceName, number>, type: ResourceType, token: string, limit: number, matches: ObjectPredicate, res: ServerResponse): number {
  const decoded = decodeContinue(token);
  if (decoded === undefined || decoded.resource !== type.name) {
    return sendJson(res, 400, statusObject(400, 'BadRequest', 'continue key is not valid'));
  }
  const forced = expiring.get(type.name) ?? 0;
  if (forced > 0) expiring.set(type.name, forced - 1);
  const items = forced > 0 ? undefined : store.listAt(type.name, decoded.rv);
  if (items === undefined) {
    const message = 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';
    return sendJson(res, 410, statusObject(410, 'Expired', message));
  }
  return sendPage(type, items.filter(matches), decoded.rv, decoded.offset, limit, res);
}

/** items[offset..offset+limit) (all of them when limit is 0), with a continue token when more remain. */
function sendPage(type: ResourceType, items: Json[], rv: number, offset: number, limit: number, res: ServerResponse): number {
  const end = limit > 0 ? offset + limit : items.length;
  const more = end < items.length;
  const metadata: Json = { resourceVersion: String(rv) };
  if (more) {
    metadata['continue'] = encodeContinue({ resource: type.name, rv, offset: end });
    metadata['remainingItemCount'] = items.length - end;
  }
  return sendJson(res, 200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items: items.slice(offset, end) });
}

