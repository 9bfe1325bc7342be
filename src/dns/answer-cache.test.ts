// Repeated questions are answered from the cache with their own id, byte for byte what a fresh
// answer would be, and never after the index changed.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { SourceEvent } from '../sources/source.js';
import { ObjectStore } from '../state/object-store.js';
import { makeEndpoint, makeService, makeSlice } from '../state/test-builders.js';
import { AnswerCache } from './answer-cache.js';
import { ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { QueryHandler, type Transport } from './query-handler.js';
import { changedServices } from './records-from-store.js';

const query = (id: number, name = 'web.a.svc.cluster.local', type: dnsPacket.RecordType = 'A', udpPayloadSize?: number): Buffer =>
  dnsPacket.encode({
    type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }],
    additionals: udpPayloadSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize, flags: 0, options: [] } as unknown as dnsPacket.Answer],
  });

function cluster(): { records: ClusterRecords; apply: (events: SourceEvent[]) => void; handler: () => QueryHandler } {
  const store = new ObjectStore();
  const records = new ClusterRecords('cluster.local');
  const apply = (events: SourceEvent[]): void => records.update(store, changedServices(store.apply(events)));
  apply([
    { type: 'service-upsert', service: makeService({ name: 'web', namespace: 'a', clusterIPs: ['10.96.0.1'], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }] }) },
    { type: 'service-upsert', service: makeService({ name: 'many', namespace: 'a', clusterIPs: [], headless: true }) },
    // 60 A records: more than 512 bytes, less than 4096.
    { type: 'slice-upsert', slice: makeSlice({ name: 'many-a', namespace: 'a', serviceName: 'many', endpoints: Array.from({ length: 60 }, (_, i) => makeEndpoint(`172.16.0.${i + 1}`)) }) },
  ]);
  return { records, apply, handler: () => new QueryHandler(new ZoneResponder(records.index, { ttl: 5, podRecords: 'insecure' }), undefined) };
}

const QUESTIONS: [string, Buffer, Transport][] = [
  ['A', query(0x1234), 'udp'],
  ['SRV', query(0x1234, '_http._tcp.web.a.svc.cluster.local', 'SRV'), 'udp'],
  ['NXDOMAIN', query(0x1234, 'missing.a.svc.cluster.local'), 'udp'],
  ['NODATA', query(0x1234, 'web.a.svc.cluster.local', 'TXT'), 'udp'],
  ['mixed case', query(0x1234, 'WeB.A.Svc.Cluster.LOCAL'), 'udp'],
  ['EDNS0', query(0x1234, 'web.a.svc.cluster.local', 'A', 1232), 'udp'],
  ['headless, truncated without EDNS0', query(0x1234, 'many.a.svc.cluster.local'), 'udp'],
  ['headless, whole with EDNS0', query(0x1234, 'many.a.svc.cluster.local', 'A', 4096), 'udp'],
  ['headless over TCP', query(0x1234, 'many.a.svc.cluster.local'), 'tcp'],
];

describe('the answer cache in the query handler', () => {
  it.each(QUESTIONS)('%s: a hit is the bytes a fresh handler answers, with the asker\'s id', async (_what, q, transport) => {
    const { handler } = cluster();
    const warm = handler();
    const first = Buffer.from(q);
    first.writeUInt16BE(7, 0);
    await warm.handle(first, transport);
    expect(warm.cached(q, transport)).toEqual(await handler().handle(q, transport));
    expect(warm.cached(q, transport)?.readUInt16BE(0)).toBe(0x1234);
  });

  it('keeps the question\'s case in a hit, and a differently cased question is its own entry', async () => {
    const h = cluster().handler();
    await h.handle(query(1, 'web.a.svc.cluster.local'), 'udp');
    expect(h.cached(query(2, 'WEB.a.svc.cluster.local'), 'udp')).toBeUndefined();
    await h.handle(query(3, 'WEB.a.svc.cluster.local'), 'udp');
    expect(dnsPacket.decode(h.cached(query(4, 'WEB.a.svc.cluster.local'), 'udp') as Buffer).questions?.[0]?.name).toBe('WEB.a.svc.cluster.local');
    expect(dnsPacket.decode(h.cached(query(5, 'web.a.svc.cluster.local'), 'udp') as Buffer).questions?.[0]?.name).toBe('web.a.svc.cluster.local');
  });

  it('does not mix answers sized for different buffers or transports', async () => {
    const h = cluster().handler();
    const plain = query(1, 'many.a.svc.cluster.local');
    const edns = query(1, 'many.a.svc.cluster.local', 'A', 4096);
    await h.handle(plain, 'udp');
    await h.handle(edns, 'udp');
    await h.handle(plain, 'tcp');
    const small = dnsPacket.decode(h.cached(plain, 'udp') as Buffer);
    expect((small.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE).toBeTruthy();
    expect(small.answers).toHaveLength(0);
    expect(dnsPacket.decode(h.cached(edns, 'udp') as Buffer).answers).toHaveLength(60);
    expect(dnsPacket.decode(h.cached(plain, 'tcp') as Buffer).answers).toHaveLength(60);
    expect(h.cached(edns, 'tcp')).toBeUndefined();
  });

  it('answers a repeated question with the asker\'s id, and the new address once the service changed', async () => {
    const { apply, handler } = cluster();
    const h = handler();
    const first = dnsPacket.decode((await h.handle(query(1), 'udp')) as Buffer);
    const again = dnsPacket.decode((await h.handle(query(2), 'udp')) as Buffer);
    expect(again.id).toBe(2);
    expect({ ...again, id: 1 }).toEqual(first);
    apply([{ type: 'service-upsert', service: makeService({ name: 'web', namespace: 'a', clusterIPs: ['10.96.0.2'] }) }]);
    expect(h.cached(query(3), 'udp')).toBeUndefined();
    const changed = dnsPacket.decode((await h.handle(query(3), 'udp')) as Buffer);
    expect(changed.answers).toMatchObject([{ type: 'A', data: '10.96.0.2' }]);
  });

  it('holds nothing for queries it refused or could not read', async () => {
    const h = cluster().handler();
    const bad = [Buffer.from([1]), Buffer.from('00010100000100000000', 'hex'), query(1, 'web.a.svc.cluster.local', 'AXFR')];
    for (const q of bad) {
      await h.handle(q, 'udp');
      expect(h.cached(q, 'udp')).toBeUndefined();
    }
  });
});

describe('AnswerCache', () => {
  it('keys on transport and question, keeps at most its size per transport, and drops entries of an old serial', () => {
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
    expect(cache.size).toBe(0);
  });

  it('hands out copies: patching one id leaves the stored answer alone', () => {
    const cache = new AnswerCache(4, () => 1);
    cache.set(query(1, 'x.test'), 'udp', Buffer.from('0001aabb', 'hex'), 1);
    const a = cache.get(query(0x0a0b, 'x.test'), 'udp');
    const b = cache.get(query(0x0c0d, 'x.test'), 'udp');
    expect(a?.toString('hex')).toBe('0a0baabb');
    expect(b?.toString('hex')).toBe('0c0daabb');
  });
});
