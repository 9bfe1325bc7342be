// What the fake API server checks of a created events.k8s.io/v1 Event: the
// fields kube-apiserver's ValidateEventCreate requires of a new-API Event
// (pkg/apis/core/validation/events.go), so a client the fake accepts is one
// the real server accepts too.
import type { Json } from './selectors.js';

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
