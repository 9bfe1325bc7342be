// Which service port's element a map holds for a key. Two service ports may want
// the same key (two services with one external IP and port): iptables mode lets
// the first rule in KUBE-SERVICES win, i.e. the first service port by key; here
// the map holds the element of the first claimant by key, and when it goes away
// the next claimant's element takes its place.
import { elementKey, type NftElement } from './objects.js';

export interface Claim {
  readonly owner: string;
  readonly element: NftElement;
}

export function claimKey(e: NftElement): string {
  return `${e.set} ${elementKey(e.key)}`;
}

export class ElementClaims {
  readonly #claims: Map<string, Claim[]>;

  constructor(from?: ElementClaims) {
    this.#claims = from === undefined ? new Map() : new Map([...from.#claims].map(([k, v]) => [k, v]));
  }

  /** The element the map holds for `key`, if any. */
  winner(key: string): NftElement | undefined {
    return this.#claims.get(key)?.[0]?.element;
  }

  add(owner: string, element: NftElement): string {
    const key = claimKey(element);
    const list = this.#claims.get(key);
    if (list === undefined) {
      this.#claims.set(key, [{ owner, element }]);
      return key;
    }
    // Lists are copied on write: a copied ElementClaims shares them with its source.
    const next = list.filter((c) => c.owner !== owner);
    const at = next.findIndex((c) => c.owner > owner);
    next.splice(at === -1 ? next.length : at, 0, { owner, element });
    this.#claims.set(key, next);
    return key;
  }

  remove(owner: string, element: NftElement): string {
    const key = claimKey(element);
    const list = this.#claims.get(key);
    if (list !== undefined) {
      const next = list.filter((c) => c.owner !== owner);
      if (next.length === 0) this.#claims.delete(key);
      else this.#claims.set(key, next);
    }
    return key;
  }

  /** Every winning element. */
  *winners(): IterableIterator<NftElement> {
    for (const list of this.#claims.values()) {
      const first = list[0];
      if (first !== undefined) yield first.element;
    }
  }

  get size(): number {
    return this.#claims.size;
  }
}
