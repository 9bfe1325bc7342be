// Which service port's element a map holds for a key. Two service ports may want
// the same key (two services with one external IP and port): the state's claim
// book decides, as for every mode (the first claimant by service-port key).
import { ClaimBook } from '../../state/claims.js';
import { elementKey, type NftElement } from './objects.js';

export function claimKey(e: NftElement): string {
  return `${e.set} ${elementKey(e.key)}`;
}

/** Claims keyed by map element; a thin view of the state's ClaimBook. */
export class ElementClaims {
  readonly #book: ClaimBook<NftElement>;

  constructor(from?: ElementClaims) {
    this.#book = new ClaimBook(from === undefined ? undefined : from.#book);
  }

  /** The element the map holds for `key`, if any. */
  winner(key: string): NftElement | undefined {
    return this.#book.winner(key);
  }

  add(owner: string, element: NftElement): string {
    const key = claimKey(element);
    this.#book.add(key, owner, element);
    return key;
  }

  remove(owner: string, element: NftElement): string {
    const key = claimKey(element);
    this.#book.remove(key, owner);
    return key;
  }

  /** Every winning element. */
  winners(): IterableIterator<NftElement> {
    return this.#book.winners();
  }

  get size(): number {
    return this.#book.size;
  }
}
