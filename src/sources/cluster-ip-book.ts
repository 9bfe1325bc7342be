// The cluster IP allocator's ledger: which addresses services claim
// explicitly, and which were allocated to whom. Lookups both ways are O(1), so
// an allocation never has to look at the other services.
import type { IPFamily } from '../model/types.js';
import type { IPValue } from './cluster-ip-range.js';

interface Holding {
  readonly value: bigint;
  /** From the range's base: what the allocation is remembered as. */
  readonly offset: bigint;
}

export class ClusterIPBook {
  /** Address → how many services claim it explicitly (nothing stops two from doing so). */
  private readonly claims = new Map<IPFamily, Map<bigint, number>>();
  /** Allocated address → the service (`namespace/name`) holding it. */
  private readonly owners = new Map<IPFamily, Map<bigint, string>>();
  /** Service → its allocated address per family. */
  private readonly holdings = new Map<string, Map<IPFamily, Holding>>();

  isTaken(family: IPFamily, value: bigint): boolean {
    return (this.claims.get(family)?.has(value) ?? false) || (this.owners.get(family)?.has(value) ?? false);
  }

  claim(ips: readonly IPValue[]): void {
    for (const { family, value } of ips) {
      const counts = getOrCreate(this.claims, family, () => new Map<bigint, number>());
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }

  unclaim(ips: readonly IPValue[]): void {
    for (const { family, value } of ips) {
      const counts = this.claims.get(family);
      const count = counts?.get(value);
      if (counts === undefined || count === undefined) continue;
      if (count <= 1) counts.delete(value);
      else counts.set(value, count - 1);
    }
  }

  ownerOf(family: IPFamily, value: bigint): string | undefined {
    return this.owners.get(family)?.get(value);
  }

  offsetOf(key: string, family: IPFamily): bigint | undefined {
    return this.holdings.get(key)?.get(family)?.offset;
  }

  familiesOf(key: string): IPFamily[] {
    return [...(this.holdings.get(key)?.keys() ?? [])];
  }

  hold(key: string, family: IPFamily, value: bigint, offset: bigint): void {
    this.release(key, family);
    getOrCreate(this.holdings, key, () => new Map<IPFamily, Holding>()).set(family, { value, offset });
    getOrCreate(this.owners, family, () => new Map<bigint, string>()).set(value, key);
  }

  release(key: string, family: IPFamily): void {
    const held = this.holdings.get(key);
    const holding = held?.get(family);
    if (held === undefined || holding === undefined) return;
    held.delete(family);
    if (held.size === 0) this.holdings.delete(key);
    const owners = this.owners.get(family);
    if (owners?.get(holding.value) === key) owners.delete(holding.value);
  }

  releaseAll(key: string): void {
    for (const family of this.familiesOf(key)) this.release(key, family);
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
