// Who owns a contested frontend (or any key two service ports may both want: an
// address and port, a NodePort, a map element). One rule for every mode: the first
// claimant by service-port key owns it, whatever order the claims came in, and when
// it lets go the next claimant takes over. Contested keys are counted for reports.

interface Claim<T> {
  readonly owner: string;
  readonly value: T;
}

export class ClaimBook<T> {
  readonly #claims: Map<string, readonly Claim<T>[]>;
  #contested: number;

  /** A copy of `from` (claim lists are copied on write, so copying is O(keys)). */
  constructor(from?: ClaimBook<T>) {
    this.#claims = from === undefined ? new Map() : new Map(from.#claims);
    this.#contested = from === undefined ? 0 : from.#contested;
  }

  /** The owner's value for `key`, if anyone claims it. */
  winner(key: string): T | undefined {
    return this.#claims.get(key)?.[0]?.value;
  }

  owner(key: string): string | undefined {
    return this.#claims.get(key)?.[0]?.owner;
  }

  /** Every claimant of `key`, owner first. */
  claimants(key: string): string[] {
    return (this.#claims.get(key) ?? []).map((c) => c.owner);
  }

  /** Claims (or re-claims with a new value) `key` for `owner`. */
  add(key: string, owner: string, value: T): void {
    const list = this.#claims.get(key) ?? [];
    const next = list.filter((c) => c.owner !== owner);
    const at = next.findIndex((c) => c.owner > owner);
    next.splice(at === -1 ? next.length : at, 0, { owner, value });
    this.#set(key, list, next);
  }

  remove(key: string, owner: string): void {
    const list = this.#claims.get(key);
    if (list !== undefined) this.#set(key, list, list.filter((c) => c.owner !== owner));
  }

  /** Every owner's value. */
  *winners(): IterableIterator<T> {
    for (const list of this.#claims.values()) {
      const first = list[0];
      if (first !== undefined) yield first.value;
    }
  }

  /** Every claim: key, claimant, value (owners first within a key). */
  *entries(): IterableIterator<[string, string, T]> {
    for (const [key, list] of this.#claims) for (const c of list) yield [key, c.owner, c.value];
  }

  /** Keys claimed. */
  get size(): number {
    return this.#claims.size;
  }

  /** Keys with more than one claimant. */
  get contested(): number {
    return this.#contested;
  }

  #set(key: string, before: readonly Claim<T>[], after: Claim<T>[]): void {
    this.#contested += (after.length > 1 ? 1 : 0) - (before.length > 1 ? 1 : 0);
    if (after.length === 0) this.#claims.delete(key);
    else this.#claims.set(key, after);
  }
}
