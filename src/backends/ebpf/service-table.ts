// The planner's copy of the services maps (svcp_lb4_svc, svcp_lb6_svc), stored by lookup:
// one row per frontend and scope holding its slots' values as numbers, instead of a
// string key, a key object and a value object per slot. At 10,000 services x 10
// endpoints that is 121,000 entries: 52 MB of heap as a Map of objects, a few MB as rows,
// and the planner reads a scope with one lookup instead of one per slot.
// The string API (`address:port/proto/scope/slot`, lb4KeyString) stays for readers and tests.
import type { Protocol } from '../../model/types.js';
import type { Lb4Key, Lb4Service, LookupScope } from './map-types.js';

/** A services-map entry as the readers see it (built on demand). */
export interface ServiceEntry {
  readonly key: Lb4Key;
  readonly value: Lb4Service;
}

// Per slot: present, then Lb4Service's fields in this order.
const STRIDE = 6;
const F_PRESENT = 0;
const F_BACKEND = 1;
const F_COUNT = 2;
const F_FLAGS = 3;
const F_REV = 4;
const F_AFFINITY = 5;

/** One frontend's entries in one lookup scope: slot 0 and its backend slots. */
export class ScopeRow {
  /** STRIDE numbers per slot, slot s at s * STRIDE; beyond the end: absent. */
  private cells: number[] = [];
  private present = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly proto: Protocol,
    readonly scope: LookupScope,
  ) {}

  /** Entries held. */
  get size(): number {
    return this.present;
  }

  /** One past the highest slot ever held (slots below it may be absent). */
  get slotLimit(): number {
    return this.cells.length / STRIDE;
  }

  has(slot: number): boolean {
    return this.cells[slot * STRIDE + F_PRESENT] === 1;
  }

  /** Slot 0's count, or 0 when absent. */
  count(): number {
    return this.has(0) ? (this.cells[F_COUNT] as number) : 0;
  }

  /** The backend id of a slot, or undefined when absent. */
  backendId(slot: number): number | undefined {
    return this.has(slot) ? this.cells[slot * STRIDE + F_BACKEND] : undefined;
  }

  /** The rev_nat_index of a slot, or undefined when absent. */
  revNatIndex(slot: number): number | undefined {
    return this.has(slot) ? this.cells[slot * STRIDE + F_REV] : undefined;
  }

  /** Whether the slot holds exactly this value. */
  equals(slot: number, v: Lb4Service): boolean {
    const i = slot * STRIDE;
    const c = this.cells;
    return c[i + F_PRESENT] === 1 && c[i + F_BACKEND] === v.backendId && c[i + F_COUNT] === v.count && c[i + F_FLAGS] === v.flags
      && c[i + F_REV] === v.revNatIndex && c[i + F_AFFINITY] === v.affinityTimeout;
  }

  /** Whether the slot holds exactly a backend slot's value: this backend, this rev_nat_index, the rest 0. */
  isBackendSlot(slot: number, backendId: number, revNatIndex: number): boolean {
    const i = slot * STRIDE;
    const c = this.cells;
    return c[i + F_PRESENT] === 1 && c[i + F_BACKEND] === backendId && c[i + F_COUNT] === 0 && c[i + F_FLAGS] === 0 && c[i + F_REV] === revNatIndex && c[i + F_AFFINITY] === 0;
  }

  value(slot: number): Lb4Service | undefined {
    if (!this.has(slot)) return undefined;
    const i = slot * STRIDE;
    const c = this.cells;
    return { backendId: c[i + F_BACKEND] as number, count: c[i + F_COUNT] as number, flags: c[i + F_FLAGS] as number, revNatIndex: c[i + F_REV] as number, affinityTimeout: c[i + F_AFFINITY] as number };
  }

  key(slot: number): Lb4Key {
    return { address: this.address, port: this.port, slot, proto: this.proto, scope: this.scope };
  }

  /** Sets a slot; returns whether it was absent. */
  set(slot: number, v: Lb4Service): boolean {
    const i = slot * STRIDE;
    const c = this.cells;
    while (c.length < i + STRIDE) c.push(0);
    const added = c[i + F_PRESENT] !== 1;
    c[i + F_PRESENT] = 1;
    c[i + F_BACKEND] = v.backendId;
    c[i + F_COUNT] = v.count;
    c[i + F_FLAGS] = v.flags;
    c[i + F_REV] = v.revNatIndex;
    c[i + F_AFFINITY] = v.affinityTimeout;
    if (added) this.present++;
    return added;
  }

  /** Removes a slot; returns whether it was held. */
  delete(slot: number): boolean {
    if (!this.has(slot)) return false;
    this.cells[slot * STRIDE + F_PRESENT] = 0;
    this.present--;
    // Trailing absent slots are dropped so a shrunk scope does not keep its old length.
    let end = this.cells.length;
    while (end > 0 && this.cells[end - STRIDE + F_PRESENT] !== 1) end -= STRIDE;
    this.cells.length = end;
    return true;
  }

  /** Slots held, in slot order. */
  *slots(): IterableIterator<number> {
    for (let s = 0; s < this.slotLimit; s++) if (this.has(s)) yield s;
  }

  clone(): ScopeRow {
    const r = new ScopeRow(this.address, this.port, this.proto, this.scope);
    r.cells = this.cells.slice();
    r.present = this.present;
    return r;
  }
}

/** `address:port/proto/scope`: a row's name (scopePrefix of maps-content.ts). */
function rowName(address: string, port: number, proto: Protocol, scope: LookupScope): string {
  return `${address}:${port}/${proto}/${scope}`;
}

/**
 * The services maps of both families, by lookup scope. Deliberately not iterable itself: test
 * matchers compare iterables in iteration order, and two tables holding the same entries (a
 * plan's and a kernel dump's) list their rows in different orders; as plain objects they compare
 * by content.
 */
export class ServiceTable {
  private readonly rows = new Map<string, ScopeRow>();
  private held = 0;

  /** Entries (slots) held, as the kernel counts them. */
  get size(): number {
    return this.held;
  }

  /** The row of a scope prefix (`address:port/proto/scope`), if it holds any entry. */
  scope(prefix: string): ScopeRow | undefined {
    return this.rows.get(prefix);
  }

  put(key: Lb4Key, value: Lb4Service): void {
    const name = rowName(key.address, key.port, key.proto, key.scope);
    let row = this.rows.get(name);
    if (row === undefined) {
      row = new ScopeRow(key.address, key.port, key.proto, key.scope);
      this.rows.set(name, row);
    }
    if (row.set(key.slot, value)) this.held++;
  }

  remove(key: Lb4Key): boolean {
    const name = rowName(key.address, key.port, key.proto, key.scope);
    const row = this.rows.get(name);
    if (row === undefined || !row.delete(key.slot)) return false;
    this.held--;
    if (row.size === 0) this.rows.delete(name);
    return true;
  }

  /** By lb4KeyString. */
  get(keyString: string): ServiceEntry | undefined {
    const cut = keyString.lastIndexOf('/');
    const row = this.rows.get(keyString.slice(0, cut));
    const slot = Number(keyString.slice(cut + 1));
    const value = row?.value(slot);
    return row === undefined || value === undefined ? undefined : { key: row.key(slot), value };
  }

  has(keyString: string): boolean {
    return this.get(keyString) !== undefined;
  }

  /** Every entry as [lb4KeyString, entry], row by row in slot order. */
  *entries(): IterableIterator<[string, ServiceEntry]> {
    for (const [name, row] of this.rows) {
      for (const slot of row.slots()) yield [`${name}/${slot}`, { key: row.key(slot), value: row.value(slot) as Lb4Service }];
    }
  }

  *values(): IterableIterator<ServiceEntry> {
    for (const [, e] of this.entries()) yield e;
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  /** The rows, for readers that go scope by scope. */
  scopes(): IterableIterator<ScopeRow> {
    return this.rows.values();
  }

  clone(): ServiceTable {
    const t = new ServiceTable();
    for (const [name, row] of this.rows) t.rows.set(name, row.clone());
    t.held = this.held;
    return t;
  }
}
