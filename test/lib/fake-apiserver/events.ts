// What the fake API server checks of a created events.k8s.io/v1 Event: the
// fields kube-apiserver's ValidateEventCreate requires of a new-API Event
// (pkg/apis/core/validation/events.go), so a client the fake accepts is one
// the real server accepts too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json } from './selectors.js';
import { sendJson, statusObject } from './status.js';

export const EVENTS_PATH = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events$/;

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const QUALIFIED_PATH = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9._~-]+$/;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Field errors ('field: what') for an Event POSTed to namespace `namespace`; empty when valid. */
export function validateEvent(namespace: string, event: Json): string[] {
  const problems: string[] = [];
  const meta = (event['metadata'] ?? {}) as Json;
  const regarding = (event['regarding'] ?? {}) as Json;
  const name = text(meta['name']);
  if (event['apiVersion'] !== 'events.k8s.io/v1' || event['kind'] !== 'Event') problems.push('kind: must be events.k8s.io/v1 Event');
  if (!NAME.test(name) || name.length > 253) problems.push(`metadata.name: invalid name "${name}"`);
  if ((meta['namespace'] ?? namespace) !== namespace) problems.push('metadata.namespace: does not match the request namespace');
  if (!MICRO_TIME.test(text(event['eventTime']))) problems.push('eventTime: required, RFC 3339 with microseconds');
  if (!QUALIFIED_PATH.test(text(event['reportingController']))) problems.push('reportingController: must be a domain-prefixed path');
  const instance = text(event['reportingInstance']);
  if (instance === '' || instance.length > 128) problems.push('reportingInstance: required, at most 128 characters');
  const action = text(event['action']);
  if (action === '' || action.length > 128) problems.push('action: required, at most 128 characters');
  const reason = text(event['reason']);
  if (reason === '' || reason.length > 128) problems.push('reason: required, at most 128 characters');
  if (Buffer.byteLength(text(event['note'])) > 1024) problems.push('note: at most 1 kB');
  if (event['type'] !== 'Normal' && event['type'] !== 'Warning') problems.push('type: Normal or Warning');
  if (text(regarding['kind']) === '' || text(regarding['name']) === '') problems.push('regarding: kind and name required');
  if (text(regarding['namespace']) !== namespace) problems.push('regarding.namespace: does not match the event namespace');
  for (const deprecated of ['deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount']) {
    if (event[deprecated] !== undefined) problems.push(`${deprecated}: must not be set on a new Event`);
  }
  return problems;
}

/** The Events clients created, and the hooks a test turns: refuse them (403) or hold them. */
export class FakeEvents {
  readonly events: Json[] = [];
  forbidden = false;
  private held: (() => void)[] | undefined;

  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  /** Creates wait until the returned function is called. */
  hold(): () => void {
    this.held ??= [];
    return () => {
      const waiting = this.held ?? [];
      this.held = undefined;
      for (const release of waiting) release();
    };
  }

  /** POST .../namespaces/NAMESPACE/events; `record` gets the status answered. */
  create(req: IncomingMessage, res: ServerResponse, namespace: string, record: (status: number) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (): void => record(this.answer(namespace, Buffer.concat(chunks).toString('utf8'), res));
      if (this.held !== undefined) this.held.push(answer);
      else answer();
    });
  }

  private answer(namespace: string, text: string, res: ServerResponse): number {
    if (this.forbidden) {
      const message = `events.events.k8s.io is forbidden: cannot create resource "events" in namespace "${namespace}"`;
      return sendJson(res, 403, statusObject(403, 'Forbidden', message));
    }
    let event: Json;
    try {
      event = JSON.parse(text) as Json;
    } catch {
      return sendJson(res, 400, statusObject(400, 'BadRequest', 'body is not JSON'));
    }
    const problems = validateEvent(namespace, event);
    if (problems.length > 0) return sendJson(res, 422, statusObject(422, 'Invalid', `Event is invalid: ${problems.join(', ')}`));
    const stored = structuredClone(event);
    (stored['metadata'] as Json)['namespace'] = namespace;
    this.events.push(stored);
    return sendJson(res, 201, stored);
  }
}
