import { describe, expect, it } from 'vitest';
import { lb4KeyString } from './maps-content.js';
import type { Lb4Key, Lb4Service } from './map-types.js';
import { ServiceTable } from './service-table.js';

const key = (slot: number, address = '10.96.0.1', scope: 0 | 1 = 0): Lb4Key => ({ address, port: 80, slot, proto: 'TCP', scope });
const value = (backendId: number, extra: Partial<Lb4Service> = {}): Lb4Service => ({ backendId, count: 0, flags: 0, revNatIndex: 7, affinityTimeout: 0, ...extra });

describe('ServiceTable', () => {
  it('holds entries by lb4KeyString as a map of them would, counting each slot once', () => {
    const t = new ServiceTable();
    t.put(key(0), value(0, { count: 2, flags: 3, affinityTimeout: 4_000_000_000 }));
    t.put(key(2), value(12));
    t.put(key(1), value(11));
    t.put(key(1), value(21));
    t.put(key(0, 'fd00::1', 1), value(0));
    expect(t.size).toBe(4);
    expect(t.get(lb4KeyString(key(0)))).toEqual({ key: key(0), value: value(0, { count: 2, flags: 3, affinityTimeout: 4_000_000_000 }) });
    expect(t.get(lb4KeyString(key(1)))?.value.backendId).toBe(21);
    expect(t.get('fd00::1:80/TCP/1/0')?.key).toEqual(key(0, 'fd00::1', 1));
    expect(t.has(lb4KeyString(key(3)))).toBe(false);
    expect(t.has('10.96.0.2:80/TCP/0/0')).toBe(false);
    expect([...t.keys()]).toEqual(['10.96.0.1:80/TCP/0/0', '10.96.0.1:80/TCP/0/1', '10.96.0.1:80/TCP/0/2', 'fd00::1:80/TCP/1/0']);
  });

  it('tells absent slots from slots holding zeros, also below the highest slot', () => {
    const t = new ServiceTable();
    t.put(key(3), value(0, { revNatIndex: 0 }));
    const row = t.scope('10.96.0.1:80/TCP/0');
    expect(row?.has(3)).toBe(true);
    expect(row?.isBackendSlot(3, 0, 0)).toBe(true);
    expect([0, 1, 2].map((s) => row?.has(s))).toEqual([false, false, false]);
    expect(row?.count()).toBe(0);
    expect(row?.backendId(1)).toBeUndefined();
    expect([...row!.slots()]).toEqual([3]);
  });

  it('compares a slot field by field', () => {
    const t = new ServiceTable();
    t.put(key(1), value(5));
    const row = t.scope('10.96.0.1:80/TCP/0')!;
    expect(row.isBackendSlot(1, 5, 7)).toBe(true);
    expect(row.isBackendSlot(1, 5, 8)).toBe(false);
    expect(row.isBackendSlot(1, 6, 7)).toBe(false);
    expect(row.equals(1, value(5))).toBe(true);
    expect(row.equals(1, value(5, { flags: 1 }))).toBe(false);
    t.put(key(1), value(5, { affinityTimeout: 1 }));
    expect(row.isBackendSlot(1, 5, 7)).toBe(false);
  });

  it('forgets a row with its last entry and shrinks a row from its end', () => {
    const t = new ServiceTable();
    for (const s of [0, 1, 2, 3]) t.put(key(s), value(s));
    expect(t.remove(key(3))).toBe(true);
    expect(t.remove(key(3))).toBe(false);
    expect(t.scope('10.96.0.1:80/TCP/0')?.slotLimit).toBe(3);
    t.remove(key(1));
    expect(t.scope('10.96.0.1:80/TCP/0')?.slotLimit).toBe(3);
    t.remove(key(2));
    expect(t.scope('10.96.0.1:80/TCP/0')?.slotLimit).toBe(1);
    t.remove(key(0));
    expect(t.scope('10.96.0.1:80/TCP/0')).toBeUndefined();
    expect(t.size).toBe(0);
    expect([...t.scopes()]).toEqual([]);
  });

  it('compares by content whatever order its rows were filled in (a plan and a kernel dump)', () => {
    const a = new ServiceTable();
    const b = new ServiceTable();
    for (const s of [0, 1, 2]) a.put(key(s), value(s));
    a.put(key(0, '10.96.0.2'), value(0));
    b.put(key(0, '10.96.0.2'), value(0));
    for (const s of [2, 0, 1]) b.put(key(s), value(s));
    expect(b).toEqual(a);
    b.put(key(1), value(9));
    expect(b).not.toEqual(a);
  });

  it('clones into a table whose changes the original does not see', () => {
    const t = new ServiceTable();
    t.put(key(0), value(0, { count: 1 }));
    t.put(key(1), value(1));
    const c = t.clone();
    c.put(key(1), value(9));
    c.remove(key(0));
    c.put(key(0, '10.96.0.2'), value(0));
    expect([...t.entries()].map(([k, e]) => `${k}=${e.value.backendId}`)).toEqual(['10.96.0.1:80/TCP/0/0=0', '10.96.0.1:80/TCP/0/1=1']);
    expect(t.size).toBe(2);
    expect(c.size).toBe(2);
    expect(c.get('10.96.0.1:80/TCP/0/1')?.value.backendId).toBe(9);
  });
});
