// Cluster IPs for Services written in manifests without one, allocated the way
// the API server would: from the service CIDRs, one address per IP family.
//
// Allocation is deterministic (a hash of `namespace/name` picks the starting
// offset, linear probing resolves collisions) and stable: a service keeps its
// address across reloads for as long as it exists and nobody claims that
// address explicitly. Explicit clusterIPs always win over allocated ones.
//
// The allocator keeps its own record of every service and address, so that an
// update costs what changed: only new, changed or displaced services are looked at.
import { createHash } from 'node:crypto';
import { ValidationError } from '../model/errors.js';
import { objectKey, type IPFamily, type Service } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';
import { ClusterIPBook } from './cluster-ip-book.js';
import { formatIP, parseIP, parseRange, type IPRange, type IPValue } from './cluster-ip-range.js';

export const DEFAULT_SERVICE_CIDRS: readonly string[] = ['10.96.0.0/12', 'fd00:10:96::/108'];

/**
 * Offsets below this are never allocated: the network address and the first
 * usable address (by convention the `kubernetes` service's).
 */
const FIRST_ALLOCATABLE_OFFSET = 2n;

export class InvalidServiceCIDRError extends SvcplaneError {
  override readonly code = 'SVCPLANE_INVALID_SERVICE_CIDR';
}

export interface AllocatorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AssignResult {
  /** Every service that could be given its addresses, in input order. */
  readonly services: readonly Service[];
  /** Services left out because a family had no range or its range is full. */
  readonly errors: readonly ValidationError[];
}

export interface UpdateResult {
  /**
   * By `namespace/name`: every service given to this update, and every other
   * one whose addresses it changed (displaced, or allocated at last), with its
   * clusterIPs filled in; undefined for one that could not be given addresses.
   */
  readonly services: ReadonlyMap<string, Service | undefined>;
  readonly errors: readonly ValidationError[];
}

export class ClusterIPAllocator {
  private readonly ranges = new Map<IPFamily, IPRange>();
  private readonly book = new ClusterIPBook();
  /** Every service the allocator was told about, as given (before allocation). */
  private readonly known = new Map<string, Service>();
  /** Services needing an address that could not get one: retried on every update. */
  private readonly unallocated = new Set<string>();

  constructor(
    serviceCIDRs: readonly string[] = DEFAULT_SERVICE_CIDRS,
    private readonly logger?: AllocatorLogger,
  ) {
    for (const cidr of serviceCIDRs) {
      const range = parseRange(cidr);
      if (range === undefined) throw new InvalidServiceCIDRError(`invalid service CIDR ${JSON.stringify(cidr)}`);
      const usable = range.size - FIRST_ALLOCATABLE_OFFSET - (range.family === 'IPv4' ? 1n : 0n);
      if (usable < 1n) throw new InvalidServiceCIDRError(`service CIDR ${cidr} is too small to allocate from`);
      // The first CIDR of each family is the one allocated from, as with the API server's primary range.
      if (!this.ranges.has(range.family)) this.ranges.set(range.family, range);
    }
  }

  /**
   * Replaces the allocator's set of services with `services` and returns them
   * with clusterIPs filled in for those that need one (not headless, not
   * ExternalName, none given). Services absent from `services` lose their addresses.
   */
  assign(services: readonly Service[]): AssignResult {
    const keys = new Set(services.map(keyOf));
    const removals = [...this.known.keys()].filter((key) => !keys.has(key));
    const { services: updated, errors } = this.update(services, removals);
    const result: Service[] = [];
    for (const service of services) {
      const filled = updated.get(keyOf(service));
      if (filled !== undefined) result.push(filled);
    }
    return { services: result, errors };
  }

  /**
   * Applies a change: `upserts` are new or changed services, `removals` the
   * `namespace/name` keys of services that are gone. Everything else keeps its addresses.
   */
  update(upserts: readonly Service[], removals: readonly string[]): UpdateResult {
    for (const key of removals) this.forget(key);
    const affected = new Set<string>();
    const toAllocate = new Set<string>();
    const newClaims: IPValue[] = [];
    for (const service of upserts) {
      const key = keyOf(service);
      const previous = this.known.get(key);
      if (previous !== undefined) this.book.unclaim(explicitIPs(previous));
      this.known.set(key, service);
      affected.add(key);
      if (!needsAllocation(service)) {
        this.book.releaseAll(key);
        this.unallocated.delete(key);
        const claims = explicitIPs(service);
        this.book.claim(claims);
        newClaims.push(...claims);
        continue;
      }
      const families = this.familiesOf(service);
      for (const family of this.book.familiesOf(key)) if (!families.includes(family)) this.book.release(key, family);
      if (families.some((family) => this.book.offsetOf(key, family) === undefined)) toAllocate.add(key);
    }
    // Explicit addresses win: whoever had one allocated moves elsewhere.
    for (const ip of newClaims) {
      const owner = this.book.ownerOf(ip.family, ip.value);
      if (owner === undefined) continue;
      this.logger?.warn({ service: owner, family: ip.family }, 'allocated cluster IP now claimed explicitly by another service; reallocating');
      this.book.release(owner, ip.family);
      toAllocate.add(owner);
      affected.add(owner);
    }
    for (const key of this.unallocated) {
      toAllocate.add(key);
      affected.add(key);
    }

    const errors: ValidationError[] = [];
    // Key order, so that the result does not depend on the order of the input.
    for (const key of [...toAllocate].sort(compare)) {
      const service = this.known.get(key);
      if (service !== undefined) this.allocateMissing(key, service, errors);
    }

    const services = new Map<string, Service | undefined>();
    for (const key of affected) {
      const service = this.known.get(key);
      if (service !== undefined) services.set(key, this.filledIn(key, service));
    }
    return { services, errors };
  }

  private forget(key: string): void {
    const service = this.known.get(key);
    if (service !== undefined) this.book.unclaim(explicitIPs(service));
    this.book.releaseAll(key);
    this.known.delete(key);
    this.unallocated.delete(key);
  }

  /** Gives `service` an address in every family it lacks one; all or nothing. */
  private allocateMissing(key: string, service: Service, errors: ValidationError[]): void {
    for (const family of this.familiesOf(service)) {
      if (this.book.offsetOf(key, family) !== undefined) continue;
      if (!this.allocate(key, family, service, errors)) {
        // Give back what is held for the other family: a service is served on all its families or none.
        this.book.releaseAll(key);
        this.unallocated.add(key);
        return;
      }
    }
    this.unallocated.delete(key);
  }

  private allocate(key: string, family: IPFamily, service: Service, errors: ValidationError[]): boolean {
    const range = this.ranges.get(family);
    const ref = { kind: 'Service', namespace: service.namespace, name: service.name };
    if (range === undefined) {
      errors.push(new ValidationError(ref, 'spec.ipFamilies', `no service CIDR configured for ${family}`));
      return false;
    }
    const first = FIRST_ALLOCATABLE_OFFSET;
    const count = range.size - first - (family === 'IPv4' ? 1n : 0n); // IPv4 also skips broadcast
    const start = hashOffset(key, count);
    for (let i = 0n; i < count; i++) {
      const offset = first + ((start + i) % count);
      if (this.book.isTaken(family, range.base + offset)) continue;
      this.book.hold(key, family, range.base + offset, offset);
      this.logger?.info(
        { service: key, family, clusterIP: formatIP({ family, value: range.base + offset }), serviceCIDR: range.cidr },
        'allocated cluster IP',
      );
      return true;
    }
    errors.push(new ValidationError(ref, 'spec.clusterIP', `service CIDR ${range.cidr} is full`));
    return false;
  }

  /** The service as delivered: with its allocated addresses, or undefined if it has none. */
  private filledIn(key: string, service: Service): Service | undefined {
    if (!needsAllocation(service)) return service;
    if (this.unallocated.has(key)) return undefined;
    const families = this.familiesOf(service);
    const clusterIPs = families.map((family) => {
      const range = this.ranges.get(family);
      const offset = this.book.offsetOf(key, family);
      // familiesOf() only returns families with a range, and every one was allocated.
      if (range === undefined || offset === undefined) throw new Error(`internal: no ${family} allocation for ${key}`);
      return formatIP({ family, value: range.base + offset });
    });
    return { ...service, clusterIPs, ipFamilies: families };
  }

  /** The families to allocate: the service's own, or the first configured one. */
  private familiesOf(service: Service): IPFamily[] {
    if (service.ipFamilies.length > 0) return [...service.ipFamilies];
    const first = this.ranges.keys().next();
    return first.done ? ['IPv4'] : [first.value];
  }
}

function keyOf(service: Service): string {
  return objectKey(service.namespace, service.name);
}

function needsAllocation(service: Service): boolean {
  return !service.headless && service.type !== 'ExternalName' && service.clusterIPs.length === 0;
}

function explicitIPs(service: Service): IPValue[] {
  const ips: IPValue[] = [];
  for (const text of service.clusterIPs) {
    const ip = parseIP(text);
    if (ip !== undefined) ips.push(ip);
  }
  return ips;
}

/** A stable pseudo-random offset in [0, count) for `key`. */
function hashOffset(key: string, count: bigint): bigint {
  const digest = createHash('sha256').update(key).digest();
  return digest.readBigUInt64BE(0) % count;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
