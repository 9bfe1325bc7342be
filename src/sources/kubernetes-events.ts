// Warning Events (events.k8s.io/v1) on Services, EndpointSlices and Ingresses the
// Kubernetes sources reject, so `kubectl describe` shows why an object is not
// programmed. One Event per object and reason while the object stays invalid:
// a fixed, deleted or recreated (new uid) object may get a new one. An object programmed
// without some part of it (read leniently, see Strictness) gets its own reason,
// `Invalid<Kind>Field`, one per object while that lasts.
import { randomInt } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ValidationError } from '../model/errors.js';
import { createObject } from './kubernetes-client.js';

export const EVENT_REPORTING_CONTROLLER = 'svcplane.io/svcplane';
/** events.k8s.io/v1 limits: note 1 kB, reportingInstance 128 characters, names 253. */
const NOTE_MAX = 1024;
const INSTANCE_MAX = 128;
const NAME_PREFIX_MAX = 200;
/** Events being posted at once; beyond, an Event is dropped (and may be posted for a later version). */
export const EVENTS_IN_FLIGHT_MAX = 50;
/** An Event is worth less than a prompt stop(): give up on a slow API server sooner than a LIST does. */
const EVENT_TIMEOUT_MS = 10_000;

/** The kinds that get Events, with the apiVersion their reference names. */
const API_VERSIONS: Readonly<Record<string, string>> = { Service: 'v1', EndpointSlice: 'discovery.k8s.io/v1', Ingress: 'networking.k8s.io/v1' };

/** The raw object's identity the Event refers to. */
export interface RegardingObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
}

export interface EventLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** kind, namespace, name, uid and resourceVersion of a raw API object. */
export function regardingOf(kind: string, raw: unknown): RegardingObject {
  const meta = record(record(raw)['metadata']);
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return { kind, namespace: text(meta['namespace']) ?? '', name: text(meta['name']) ?? '', uid: text(meta['uid']), resourceVersion: text(meta['resourceVersion']) };
}

/** RFC 3339 with microseconds, the MicroTime eventTime wants. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function truncate(text: string, max: number): string {
  return Buffer.byteLength(text) <= max ? text : `${Buffer.from(text).subarray(0, max - 3).toString('utf8').replace(/\uFFFD$/, '')}...`;
}

/** Whether the object is skipped whole, or programmed without the parts the errors name. */
export type InvalidScope = 'object' | 'part';

/** The Event reason for an invalid object (`InvalidService`) or invalid parts of it (`InvalidServiceField`). */
export function invalidReason(kind: string, scope: InvalidScope): string {
  return scope === 'object' ? `Invalid${kind}` : `Invalid${kind}Field`;
}

/** The events.k8s.io/v1 Event for `errors`, all about `regarding`. */
export function invalidObjectEvent(regarding: RegardingObject, errors: readonly ValidationError[], nodeName: string, now: Date, scope: InvalidScope = 'object'): Record<string, unknown> {
  const problems = errors.map((e) => `${e.field}: ${e.reason}`).join('; ');
  const note = scope === 'object' ? `svcplane skips this ${regarding.kind}: ${problems}` : `svcplane programs this ${regarding.kind} without: ${problems}`;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    // client-go's naming: the object's name and the time in hex, unique enough per namespace.
    metadata: { name: `${regarding.name.slice(0, NAME_PREFIX_MAX)}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(randomInt(1_000_000))).toString(16)}`, namespace: regarding.namespace },
    eventTime: microTime(now),
    reportingController: EVENT_REPORTING_CONTROLLER,
    reportingInstance: truncate(`svcplane-${nodeName}`, INSTANCE_MAX),
    action: 'Validate',
    reason: invalidReason(regarding.kind, scope),
    note: truncate(note, NOTE_MAX),
    type: 'Warning',
    regarding: {
      kind: regarding.kind,
      apiVersion: API_VERSIONS[regarding.kind],
      namespace: regarding.namespace,
      name: regarding.name,
      ...(regarding.uid === undefined ? {} : { uid: regarding.uid }),
      ...(regarding.resourceVersion === undefined ? {} : { resourceVersion: regarding.resourceVersion }),
    },
  };
}

/** Errors by the `namespace/name` of their object. */
export function errorsByObject(errors: readonly ValidationError[]): Map<string, ValidationError[]> {
  const out = new Map<string, ValidationError[]>();
  for (const error of errors) {
    const key = `${error.ref.namespace}/${error.ref.name}`;
    out.set(key, [...(out.get(key) ?? []), error]);
  }
  return out;
}

interface Reported {
  readonly uid: string | undefined;
  readonly reasons: Set<string>;
}

export class InvalidObjectEvents {
  /** Per Kind/namespace/name: the uid and the reasons already reported for it. */
  private readonly reported = new Map<string, Reported>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly nodeName: string,
    private readonly logger: EventLogger,
  ) {}

  /** Posts a Warning for an invalid Service, EndpointSlice or Ingress (or parts of it) unless this object already has one for that reason. */
  warnInvalid(regarding: RegardingObject, errors: readonly ValidationError[], scope: InvalidScope = 'object'): void {
    if (API_VERSIONS[regarding.kind] === undefined || regarding.namespace === '' || regarding.name === '' || errors.length === 0) return;
    const key = `${regarding.kind}/${regarding.namespace}/${regarding.name}`;
    const reason = invalidReason(regarding.kind, scope);
    let entry = this.reported.get(key);
    if (entry === undefined || entry.uid !== regarding.uid) {
      entry = { uid: regarding.uid, reasons: new Set() };
      this.reported.set(key, entry);
    }
    if (entry.reasons.has(reason)) return;
    if (this.inFlight.size >= EVENTS_IN_FLIGHT_MAX) {
      // A burst (thousands of bad objects at start-up) must not open thousands of requests.
      this.logger.debug({ object: key, reason }, 'too many warning events in flight; dropping one');
      return;
    }
    entry.reasons.add(reason);
    const event = invalidObjectEvent(regarding, errors, this.nodeName, new Date(), scope);
    const path = `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(regarding.namespace)}/events`;
    const posting = createObject(this.kubeConfig, path, event, EVENT_TIMEOUT_MS).then(
      () => this.logger.debug({ object: key, reason }, 'warning event recorded'),
      (err: unknown) => {
        // Not recorded: a later invalid version may try again.
        entry.reasons.delete(reason);
        this.logger.warn({ object: key, reason, err: err instanceof Error ? err.message : String(err) }, 'cannot record a warning event');
      },
    );
    this.inFlight.add(posting);
    void posting.finally(() => this.inFlight.delete(posting));
  }

  /** The object is valid again or gone (or, with `scope`, valid in that respect): a later problem is news. */
  forget(kind: string, namespace: string, name: string, scope?: InvalidScope): void {
    const key = `${kind}/${namespace}/${name}`;
    if (scope === undefined) this.reported.delete(key);
    else this.reported.get(key)?.reasons.delete(invalidReason(kind, scope));
  }

  /** After a (re)list of `kind`: forget the objects the list no longer has. */
  retain(kind: string, present: ReadonlySet<string>): void {
    for (const key of this.reported.keys()) {
      if (key.startsWith(`${kind}/`) && !present.has(key.slice(kind.length + 1))) this.reported.delete(key);
    }
  }

  /** Resolves once every Event being posted got its answer (for stop() and tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
