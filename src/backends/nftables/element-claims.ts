// Which service port's element a shared map holds for a key. Two service ports may
// want the same key (two services with one external IP and port, two services with
// one endpoint in the hairpin set): the first claimant by service-port key owns it,
// as the state's claim book decides for every mode. Kept compact because a
// 10,000-service table has ~120,000 shared elements: per set, key text -> owner
// (or the owners, in key order, when contested); the element itself is re-rendered
// from the owner's committed service port when needed, never stored here.

/** One owner (the usual case: no array), or the claimants in key order (first wins). */
type Owners = string | readonly string[];

function ownerList(o: Owners): readonly string[] {
  return typeof o === 'string' ? [o] : o;
}

export class SharedClaims {
  readonly #sets: Map<string, Map<string, Owners>>;

  /** A copy of `from` (owner lists are replaced, never edited, so sharing them is safe). */
  constructor(from?: SharedClaims) {
    this.#sets = new Map();
    if (from !== undefined) for (const [set, keys] of from.#sets) this.#sets.set(set, new Map(keys));
  }

  /** The service port whose element the set holds for `key`, if any. */
  owner(set: string, key: string): string | undefined {
    const o = this.#sets.get(set)?.get(key);
    return o === undefined || typeof o === 'string' ? o : o[0];
  }

  /** Every claimant of the key, owner first. */
  claimants(set: string, key: string): readonly string[] {
    const o = this.#sets.get(set)?.get(key);
    return o === undefined ? [] : ownerList(o);
  }

  add(set: string, key: string, owner: string): void {
    let keys = this.#sets.get(set);
    if (keys === undefined) {
      keys = new Map();
      this.#sets.set(set, keys);
    }
    const o = keys.get(key);
    if (o === undefined) {
      keys.set(key, owner);
      return;
    }
    const list = ownerList(o);
    if (list.includes(owner)) return;
    const at = list.findIndex((c) => c > owner);
    const next = [...list];
    next.splice(at === -1 ? next.length : at, 0, owner);
    keys.set(key, next);
  }

  remove(set: string, key: string, owner: string): void {
    const keys = this.#sets.get(set);
    const o = keys?.get(key);
    if (keys === undefined || o === undefined) return;
    const next = ownerList(o).filter((c) => c !== owner);
    if (next.length === 0) keys.delete(key);
    else keys.set(key, next.length === 1 ? (next[0] as string) : next);
  }

  /** Keys the set holds (one element each). */
  count(set: string): number {
    return this.#sets.get(set)?.size ?? 0;
  }

  /** Keys with more than one claimant. */
  get contested(): number {
    let n = 0;
    for (const keys of this.#sets.values()) for (const o of keys.values()) if (typeof o !== 'string') n++;
    return n;
  }
}
