// What the kernel's IPVS tables hold as far as the agent knows: the last full dump, with every
// request the agent sent since applied to it. Partial syncs plan against it instead of reading
// the kernel (one netlink round trip per virtual server); full syncs read the kernel again and
// replace it, which is what repairs changes made behind the agent's back. It keeps no connection
// counts or stats (they go stale, and at 10,000 services the decoded stats objects alone were
// tens of MB), so a virtual server that would lose a real server (whose retirement depends on
// its active connections) is still read from the kernel.
import { destinationKey, virtualServerKey } from './ipvs-keys.js';
import type { IpvsDestination, IpvsOp, IpvsService, IpvsVirtualServerDump } from './ipvs-types.js';
import type { DesiredVirtualServer } from './virtual-servers.js';

interface CachedServer {
  service: IpvsService;
  /** Destination key -> real server (the planner accepts either order). */
  readonly destinations: Map<string, IpvsDestination>;
}

export class IpvsDumpCache {
  private readonly byKey = new Map<string, CachedServer>();

  /** From a full dump of the kernel. */
  static fromDump(dump: readonly IpvsVirtualServerDump[]): IpvsDumpCache {
    const cache = new IpvsDumpCache();
    for (const vs of dump) cache.replace(vs);
    return cache;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Every virtual server by key, its real servers by destination key (read only). */
  *servers(): IterableIterator<[string, { readonly service: IpvsService; readonly destinations: ReadonlyMap<string, IpvsDestination> }]> {
    yield* this.byKey;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The virtual server by key, as kept (read only, no copy). */
  peek(key: string): { readonly service: IpvsService; readonly destinations: ReadonlyMap<string, IpvsDestination> } | undefined {
    return this.byKey.get(key);
  }

  /** The virtual server as the kernel holds it, or undefined when it holds none by that key. */
  get(key: string): IpvsVirtualServerDump | undefined {
    const vs = this.byKey.get(key);
    return vs === undefined ? undefined : { service: vs.service, destinations: [...vs.destinations.values()] };
  }

  /**
   * Whether the cache alone can plan `want` against the kernel: the kernel holds no real server
   * that `want` lacks (nothing to retire, so no connection count is needed), or holds no such
   * virtual server at all.
   */
  enoughFor(want: DesiredVirtualServer): boolean {
    const vs = this.byKey.get(want.key);
    if (vs === undefined) return true;
    if (vs.destinations.size > want.destinations.length) return false;
    const wanted = new Set(want.destinations.map((d) => destinationKey(want.key, d)));
    for (const key of vs.destinations.keys()) if (!wanted.has(key)) return false;
    return true;
  }

  /** A virtual server as just read from the kernel (undefined: the kernel has none). */
  replace(vs: IpvsVirtualServerDump, key: string = virtualServerKey(vs.service)): void {
    const destinations = new Map<string, IpvsDestination>();
    for (const d of vs.destinations) destinations.set(destinationKey(key, d), slimDestination(d));
    const { stats: _stats, ...service } = vs.service;
    this.byKey.set(key, { service, destinations });
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  /** Applies requests the kernel accepted, as the kernel does. */
  apply(ops: readonly IpvsOp[]): void {
    for (const o of ops) {
      const key = virtualServerKey(o.service);
      switch (o.op) {
        case 'new-service':
          this.byKey.set(key, { service: o.service, destinations: new Map() });
          break;
        case 'update-service': {
          const vs = this.byKey.get(key);
          if (vs !== undefined) vs.service = o.service;
          break;
        }
        case 'del-service':
          this.byKey.delete(key);
          break;
        case 'new-dest':
        case 'update-dest': {
          const vs = this.byKey.get(key);
          if (vs === undefined) break;
          const dk = destinationKey(key, o.dest);
          vs.destinations.set(dk, o.op === 'new-dest' ? o.dest : { ...vs.destinations.get(dk), ...o.dest });
          break;
        }
        case 'del-dest':
          this.byKey.get(key)?.destinations.delete(destinationKey(key, o.dest));
          break;
      }
    }
  }
}

/** A real server as a request names it: what the kernel was told, without its counts and stats. */
function slimDestination(d: IpvsDestination): IpvsDestination {
  return { address: d.address, port: d.port, forwardMethod: d.forwardMethod, weight: d.weight, upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold, ...(d.af === undefined ? {} : { af: d.af }) };
}
