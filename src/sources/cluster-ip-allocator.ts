// Cluster IPs for Services written in manifests without one, allocated the way
// the API server would: from the service CIDRs, one address per IP family.
//
// Allocation is deterministic (a hash of `namespace/name` picks the starting
// offset, linear probing resolves collisions) and stable: a service keeps its
// address across reloads for as long as it exists and nobody claims that
// address explicitly. Explicit clusterIPs always win over allocated ones.
import { createHash } from 'node:crypto';
import { ValidationError } from '../model/errors.js';
import { objectKey, type IPFamily, type Service } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';
import { formatIP, parseIP, parseRange, type IPRange } from './cluster-ip-range.js';

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

export class ClusterIPAllocator {
  private readonly ranges = new Map<IPFamily, IPRange>();
  /** Last allocation per service key, kept while the service exists. */
  private allocated = new Map<string, Map<IPFamily, bigint>>();

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
   * Returns the services with clusterIPs filled in for those that need one
   * (not headless, not ExternalName, none given). Replaces the allocator's
   * memory with this set: services absent from `services` lose their addresses.
   */
  assign(services: readonly Service[]): AssignResult {
    const used = new Map<IPFamily, Set<bigint>>([
      ['IPv4', new Set()],
      ['IPv6', new Set()],
    ]);
    for (const service of services) {
      for (const text of service.clusterIPs) {
        const ip = parseIP(text);
        if (ip !== undefined) used.get(ip.family)?.add(ip.value);
      }
    }

    const needing = services
      .filter(needsAllocation)
      .map((service) => ({ service, key: objectKey(service.namespace, service.name) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

    const next = new Map<string, Map<IPFamily, bigint>>();
    // Keep earlier allocations first so that a newcomer never moves an existing service.
    for (const { service, key } of needing) {
      const previous = this.allocated.get(key);
      if (previous === undefined) continue;
      const kept = new Map<IPFamily, bigint>();
      for (const family of this.familiesOf(service)) {
        const offset = previous.get(family);
        const taken = used.get(family);
        if (offset === undefined || taken === undefined) continue;
        const range = this.ranges.get(family);
        if (range === undefined) continue;
        if (taken.has(range.base + offset)) {
          this.logger?.warn({ service: key, family }, 'allocated cluster IP now claimed explicitly by another service; reallocating');
          continue;
        }
        taken.add(range.base + offset);
        kept.set(family, offset);
      }
      next.set(key, kept);
    }

    const errors: ValidationError[] = [];
    const failed = new Set<string>();
    for (const { service, key } of needing) {
      const offsets = next.get(key) ?? new Map<IPFamily, bigint>();
      for (const family of this.familiesOf(service)) {
        if (offsets.has(family)) continue;
        const offset = this.allocate(key, family, used, errors, service);
        if (offset === undefined) {
          failed.add(key);
          break;
        }
        offsets.set(family, offset);
      }
      if (failed.has(key)) {
        next.delete(key);
        // Give back what was reserved for the other family.
        for (const [family, offset] of offsets) {
          const range = this.ranges.get(family);
          if (range !== undefined) used.get(family)?.delete(range.base + offset);
        }
        continue;
      }
      next.set(key, offsets);
    }
    this.allocated = next;

    const result: Service[] = [];
    for (const service of services) {
      if (!needsAllocation(service)) {
        result.push(service);
        continue;
      }
      const key = objectKey(service.namespace, service.name);
      const offsets = next.get(key);
      if (offsets === undefined) continue;
      const families = this.familiesOf(service);
      const clusterIPs = families.map((family) => {
        const range = this.ranges.get(family);
        const offset = offsets.get(family);
        // familiesOf() only returns families with a range, and every one was allocated above.
        if (range === undefined || offset === undefined) throw new Error(`internal: no ${family} allocation for ${key}`);
        return formatIP({ family, value: range.base + offset });
      });
      result.push({ ...service, clusterIPs, ipFamilies: families });
    }
    return { services: result, errors };
  }

  private allocate(
    key: string,
    family: IPFamily,
    used: Map<IPFamily, Set<bigint>>,
    errors: ValidationError[],
    service: Service,
  ): bigint | undefined {
    const range = this.ranges.get(family);
    const taken = used.get(family);
    const ref = { kind: 'Service', namespace: service.namespace, name: service.name };
    if (range === undefined || taken === undefined) {
      errors.push(new ValidationError(ref, 'spec.ipFamilies', `no service CIDR configured for ${family}`));
      return undefined;
    }
    const first = FIRST_ALLOCATABLE_OFFSET;
    const count = range.size - first - (family === 'IPv4' ? 1n : 0n); // IPv4 also skips broadcast
    const start = hashOffset(key, count);
    for (let i = 0n; i < count; i++) {
      const offset = first + ((start + i) % count);
      if (taken.has(range.base + offset)) continue;
      taken.add(range.base + offset);
      this.logger?.info(
        { service: key, family, clusterIP: formatIP({ family, value: range.base + offset }), serviceCIDR: range.cidr },
        'allocated cluster IP',
      );
      return offset;
    }
    errors.push(new ValidationError(ref, 'spec.clusterIP', `service CIDR ${range.cidr} is full`));
    return undefined;
  }

  /** The families to allocate: the service's own, or the first configured one. */
  private familiesOf(service: Service): IPFamily[] {
    if (service.ipFamilies.length > 0) return [...service.ipFamilies];
    const first = this.ranges.keys().next();
    return first.done ? ['IPv4'] : [first.value];
  }
}

function needsAllocation(service: Service): boolean {
  return !service.headless && service.type !== 'ExternalName' && service.clusterIPs.length === 0;
}

/** A stable pseudo-random offset in [0, count) for `key`. */
function hashOffset(key: string, count: bigint): bigint {
  const digest = createHash('sha256').update(key).digest();
  return digest.readBigUInt64BE(0) % count;
}
