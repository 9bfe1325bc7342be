// Repeated questions are answered from the cache with their own id, and never after the index
// changed.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../state/object-store.js';
import { makeService } from '../state/test-builders.js';
import { AnswerCache } from './answer-cache.js';
import { ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { QueryHandler } from './query-handler.js';
import { changedServices } from './records-from-store.js';

const query = (id: number, name = 'web.a.svc.cluster.local'): Buffer => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });

describe('the answer cache in the query handler', () => {
  it('answers a repeated question with the asker\'s id, and the new address once the service changed', async () => {
    const store = new ObjectStore();
    const records = new ClusterRecords('cluster.local');
    const set = (ip: string): void => records.update(store, changedServices(store.apply([{ type: 'service-upsert', service: makeService({ name: 'web', namespace: 'a', clusterIPs: [ip] }) }])));
    set('10.96.0.1');
    const handler = new QueryHandler(new ZoneResponder(records.index, { ttl: 5, podRecords: 'insecure' }), undefined);
    const first = dnsPacket.decode((await handler.handle(query(1), 'udp')) as Buffer);
    const again = dnsPacket.decode((await handler.handle(query(2), 'udp')) as Buffer);
    expect(again.id).toBe(2);
    expect({ ...again, id: 1 }).toEqual(first);
    set('10.96.0.2');
    const changed = dnsPacket.decode((await handler.handle(query(3), 'udp')) as Buffer);
    expect(changed.answers).toMatchObject([{ type: 'A', data: '10.96.0.2' }]);
  });
});

describe('AnswerCache', () => {
  it('keys on transport and question, keeps at most its size, and drops entries of an old serial', () => {
    let serial = 1;
    const cache = new AnswerCache(2, () => serial);
    const reply = Buffer.from('00000000', 'hex');
    cache.set(query(1, 'x.test'), 'udp', reply, 1);
    expect(cache.get(query(9, 'x.test'), 'tcp')).toBeUndefined();
    expect(cache.get(query(9, 'x.test'), 'udp')?.readUInt16BE(0)).toBe(9);
    cache.set(query(1, 'y.test'), 'udp', reply, 1);
    cache.set(query(1, 'z.test'), 'udp', reply, 1);
    expect(cache.size).toBe(2);
    expect(cache.get(query(1, 'x.test'), 'udp')).toBeUndefined();
    cache.set(query(1, 'stale.test'), 'udp', reply, 0); // made before the serial moved: not kept
    expect(cache.get(query(1, 'stale.test'), 'udp')).toBeUndefined();
    serial = 2;
    expect(cache.get(query(1, 'z.test'), 'udp')).toBeUndefined();
  });
});
