// Typed readers for raw (parsed YAML/JSON) fields. A reader never throws:
// a value of the wrong type records an error and yields the default, so that
// every problem of an object is reported at once.
import { ValidationError } from './errors.js';
import { formatIP, isIPv4Mapped, parseIP, specialIPReason } from './ip.js';
import { dns1123LabelError, type NameCheck } from './names.js';
import type { IPFamily, ObjectRef, Protocol } from './types.js';

export type RawObject = Readonly<Record<string, unknown>>;

export const UNNAMED = '<unnamed>';
export const ROOT_FIELD = '<root>';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const PORT_RANGE_REASON = 'must be between 1 and 65535, inclusive';

export function isRawObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How strictly an object is read. `strict` (manifests): every rule of the API server, each
 * break an error that skips the object. `lenient` (objects served by the API server, which has
 * validated them already, perhaps by newer rules): the API server's rules the dataplane does not
 * need are not enforced, and a part that cannot be programmed safely is dropped and reported
 * while the rest of the object is programmed.
 */
export type Strictness = 'strict' | 'lenient';

/** Collects every problem of one object. */
export class FieldErrors {
  readonly errors: ValidationError[] = [];
  /** Lenient only: parts dropped from an object that is programmed without them (reported). */
  readonly skipped: ValidationError[] = [];
  /** Lenient only: API server rules not enforced (the field is unused or its value harmless). */
  readonly relaxed: ValidationError[] = [];
  /** Set while reading a part that is dropped alone in lenient mode. */
  private inPart = false;

  constructor(
    readonly ref: ObjectRef,
    readonly source: string | undefined,
    readonly strictness: Strictness = 'strict',
  ) {}

  add(field: string, reason: string): void {
    const error = new ValidationError(this.ref, field, reason, this.source);
    if (this.inPart) this.skipped.push(error);
    else this.errors.push(error);
  }

  /** A rule the API server enforces but the dataplane does not need: an error only when strict. */
  relax(field: string, reason: string): void {
    if (this.strictness === 'strict') this.add(field, reason);
    else this.relaxed.push(new ValidationError(this.ref, field, reason, this.source));
  }

  /**
   * Reads one part of a list (an external IP, an endpoint) that can be dropped without making
   * the rest unsafe: when lenient, its problems drop the part (read() returns undefined for it)
   * instead of the object.
   */
  part<T>(read: () => T | undefined): T | undefined {
    if (this.strictness === 'strict' || this.inPart) return read();
    const before = this.skipped.length;
    this.inPart = true;
    try {
      const value = read();
      return this.skipped.length > before ? undefined : value;
    } finally {
      this.inPart = false;
    }
  }
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function quote(value: string): string {
  return JSON.stringify(value);
}

export function unsupportedReason(value: string, supported: readonly string[]): string {
  return `unsupported value ${quote(value)}: supported values: ${supported.map(quote).join(', ')}`;
}

// Absent and null are the same in the API (omitempty): both mean "unset".

export function optString(errs: FieldErrors, value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  errs.add(path, `expected a string, got ${describeValue(value)}`);
  return undefined;
}

export function optBoolean(errs: FieldErrors, value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  errs.add(path, `expected a boolean, got ${describeValue(value)}`);
  return undefined;
}

export function optInteger(errs: FieldErrors, value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  errs.add(path, `expected an integer, got ${describeValue(value)}`);
  return undefined;
}

export function optObject(errs: FieldErrors, value: unknown, path: string): RawObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (isRawObject(value)) return value;
  errs.add(path, `expected an object, got ${describeValue(value)}`);
  return undefined;
}

export function optList(errs: FieldErrors, value: unknown, path: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  errs.add(path, `expected a list, got ${describeValue(value)}`);
  return [];
}

/** A string list (externalIPs, clusterIPs...); entries of another type are reported and dropped. */
export function stringList(errs: FieldErrors, value: unknown, path: string): { readonly index: number; readonly value: string }[] {
  const out: { index: number; value: string }[] = [];
  optList(errs, value, path).forEach((item, index) => {
    const s = optString(errs, item, `${path}[${index}]`);
    if (s !== undefined) out.push({ index, value: s });
    else if (item === null || item === undefined) errs.add(`${path}[${index}]`, 'expected a string, got null');
  });
  return out;
}

/** labels, annotations, selectors: string to string. */
export function stringMap(errs: FieldErrors, value: unknown, path: string): Readonly<Record<string, string>> {
  const obj = optObject(errs, value, path);
  if (!obj) return {};
  const entries: [string, string][] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v === 'string') entries.push([key, v]);
    else errs.add(`${path}[${key}]`, `expected a string, got ${describeValue(v)}`);
  }
  // fromEntries defines own properties, even for a key like "__proto__".
  return Object.fromEntries(entries);
}

/** An enum field; '' and unset mean the default, as in Kubernetes' defaulting. */
export function enumValue<T extends string>(
  errs: FieldErrors,
  value: unknown,
  path: string,
  supported: readonly T[],
  fallback: T,
  aliases: Readonly<Record<string, T>> = {},
): T {
  const s = optString(errs, value, path);
  if (s === undefined || s === '') return fallback;
  if ((supported as readonly string[]).includes(s)) return s as T;
  if (Object.hasOwn(aliases, s)) return aliases[s] ?? fallback;
  errs.add(path, unsupportedReason(s, supported));
  return fallback;
}

export function readProtocol(errs: FieldErrors, value: unknown, path: string): Protocol {
  return enumValue(errs, value, path, PROTOCOLS, 'TCP');
}

/**
 * A port number. Unset (or 0 when `allowZero`) yields 0; `required` reports
 * an unset port.
 */
export function readPort(errs: FieldErrors, value: unknown, path: string, opts: { required: boolean; allowZero: boolean }): number {
  const n = optInteger(errs, value, path);
  if (n === undefined) {
    if (opts.required && (value === undefined || value === null)) errs.add(path, 'required value');
    return 0;
  }
  if (n === 0 && opts.allowZero) return 0;
  if (n < 1 || n > 65535) {
    errs.add(path, `invalid value ${n}: ${PORT_RANGE_REASON}`);
    return 0;
  }
  return n;
}

export function checkName(errs: FieldErrors, value: string, path: string, check: NameCheck): boolean {
  const reason = check(value);
  if (reason !== undefined) errs.add(path, `invalid value ${quote(value)}: ${reason}`);
  return reason === undefined;
}

export interface IPRules {
  /** Only this family is accepted. */
  readonly family?: IPFamily;
  /** Refuse unspecified, loopback and link-local addresses (Kubernetes' ValidateNonSpecialIP). */
  readonly nonSpecial?: boolean;
}

/** An IP in canonical form, or undefined (and an error) when it is not a usable one. */
export function readIP(errs: FieldErrors, value: string, path: string, rules: IPRules = {}): string | undefined {
  const ip = parseIP(value);
  if (!ip) {
    errs.add(path, `invalid value ${quote(value)}: must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)`);
    return undefined;
  }
  // Kubernetes reads ::ffff:a.b.c.d as IPv4 while the kernel treats it as IPv6: refuse the ambiguity.
  if (isIPv4Mapped(ip)) {
    errs.add(path, `invalid value ${quote(value)}: IPv4-mapped IPv6 addresses are not supported, use the IPv4 form`);
    return undefined;
  }
  if (rules.family !== undefined && ip.family !== rules.family) {
    errs.add(path, `invalid value ${quote(value)}: must be an ${rules.family} address`);
    return undefined;
  }
  const special = rules.nonSpecial ? specialIPReason(ip) : undefined;
  if (special !== undefined) {
    errs.add(path, `invalid value ${quote(value)}: ${special}`);
    return undefined;
  }
  return formatIP(ip);
}

export interface Metadata {
  /** The object itself; undefined when it is not an object at all. */
  readonly obj: RawObject | undefined;
  readonly errs: FieldErrors;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface MetadataRules {
  readonly kind: string;
  readonly source: string | undefined;
  /** undefined for cluster-scoped kinds (Node). */
  readonly defaultNamespace: string | undefined;
  readonly nameCheck: NameCheck;
  readonly strictness?: Strictness;
}

/** Reads metadata first: every later error names the object. */
export function readMetadata(raw: unknown, rules: MetadataRules): Metadata {
  const obj = isRawObject(raw) ? raw : undefined;
  const meta = obj && isRawObject(obj['metadata']) ? obj['metadata'] : undefined;
  const rawName = meta?.['name'];
  const rawNamespace = meta?.['namespace'];
  const name = typeof rawName === 'string' && rawName !== '' ? rawName : UNNAMED;
  const namespaced = rules.defaultNamespace !== undefined;
  const namespace = !namespaced
    ? ''
    : typeof rawNamespace === 'string' && rawNamespace !== ''
      ? rawNamespace
      : (rules.defaultNamespace ?? '');
  const errs = new FieldErrors({ kind: rules.kind, namespace, name }, rules.source, rules.strictness);
  if (!obj) {
    errs.add(ROOT_FIELD, `expected an object, got ${describeValue(raw)}`);
    return { obj, errs, namespace, name, labels: {}, annotations: {} };
  }
  if (!meta) {
    errs.add('metadata', obj['metadata'] === undefined || obj['metadata'] === null ? 'required value' : `expected an object, got ${describeValue(obj['metadata'])}`);
    return { obj, errs, namespace, name, labels: {}, annotations: {} };
  }
  if (rawName === undefined || rawName === null || rawName === '') errs.add('metadata.name', 'required value');
  else if (optString(errs, rawName, 'metadata.name') !== undefined) checkName(errs, name, 'metadata.name', rules.nameCheck);
  if (namespaced && optString(errs, rawNamespace, 'metadata.namespace') !== undefined && rawNamespace !== '') {
    checkName(errs, namespace, 'metadata.namespace', dns1123LabelError);
  }
  const labels = stringMap(errs, meta['labels'], 'metadata.labels');
  const annotations = stringMap(errs, meta['annotations'], 'metadata.annotations');
  return { obj, errs, namespace, name, labels, annotations };
}
