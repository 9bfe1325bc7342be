// PUT NAME/status, as kube-apiserver's status subresource: only the body's
// `status` is taken (spec and metadata stay as stored), a resourceVersion that
// is not the stored one is a 409 Conflict, an unknown object a 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ParsedPath } from './resources.js';
import type { Json } from './selectors.js';
import { sendJson, statusObject } from './status.js';
import type { FakeStore } from './store.js';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answers the request; resolves to the HTTP status sent (for the request record). */
export async function updateStatus(store: FakeStore, parsed: ParsedPath, req: IncomingMessage, res: ServerResponse): Promise<number> {
  const name = parsed.name ?? '';
  const kind = parsed.type.name;
  let body: Json;
  try {
    const value: unknown = JSON.parse(await readBody(req));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    body = value as Json;
  } catch {
    return sendJson(res, 400, statusObject(400, 'BadRequest', 'the body is not a JSON object'));
  }
  const stored = store.get(kind, parsed.namespace, name);
  if (stored === undefined) return sendJson(res, 404, statusObject(404, 'NotFound', `${kind} "${name}" not found`, { name, kind }));
  const meta = (body['metadata'] ?? {}) as Json;
  const storedMeta = stored['metadata'] as Json;
  if (meta['name'] !== undefined && meta['name'] !== name) return sendJson(res, 400, statusObject(400, 'BadRequest', 'metadata.name does not match the URL'));
  const rv = meta['resourceVersion'];
  if (typeof rv === 'string' && rv !== '' && rv !== storedMeta['resourceVersion']) {
    const message = `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`;
    return sendJson(res, 409, statusObject(409, 'Conflict', message, { name, kind }));
  }
  stored['status'] = structuredClone(body['status'] ?? {});
  const updated = store.update(kind, stored);
  return sendJson(res, 200, { kind: parsed.type.kind, apiVersion: parsed.type.group === '' ? parsed.type.version : `${parsed.type.group}/${parsed.type.version}`, ...updated });
}
