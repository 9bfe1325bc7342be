// Name compression: smaller messages that decode to exactly what was encoded, and the
// handler's UDP sizing decided by the compressed size.
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../state/object-store.js';
import { makeEndpoint, makeService, makeSlice } from '../state/test-builders.js';
import { ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { QueryHandler } from './query-handler.js';
import { changedServices } from './records-from-store.js';
import { compressMessage, FLAG_TC } from './wire.js';

const SVC = 'db.dnstest.svc.cluster.local';

function response(answers: Answer[], authorities: Answer[] = [], additionals: Answer[] = []): Packet {
  return { type: 'response', id: 7, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ name: SVC, type: 'A', class: 'IN' }], answers, authorities, additionals };
}

const a = (name: string, data: string): Answer => ({ name, type: 'A', ttl: 5, class: 'IN', data });
const soa: Answer = { name: 'cluster.local', type: 'SOA', ttl: 5, class: 'IN', data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 3, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } };

/** Encodes plain and compressed, and checks that both decode to the same message. */
function decodesSame(packet: Packet): { plain: Buffer; packed: Buffer } {
  const plain = dnsPacket.encode(packet);
  const packed = compressMessage(plain);
  expect(dnsPacket.decode(packed)).toEqual(dnsPacket.decode(plain));
  return { plain, packed };
}

describe('compressMessage', () => {
  it('points repeated owner names at the question: 20 A records shrink to 2 bytes of name each', () => {
    const answers = Array.from({ length: 20 }, (_, i) => a(SVC, `10.244.6.${i + 1}`));
    const { plain, packed } = decodesSame(response(answers));
    const nameLength = SVC.length + 2;
    expect(plain.length - packed.length).toBe(20 * (nameLength - 2));
  });

  it('compresses SOA names against the zone suffix and keeps the case of each name', () => {
    const { plain, packed } = decodesSame(response([a('DB.DnsTest.svc.cluster.local', '10.0.0.1')], [soa]));
    expect(packed.length).toBeLessThan(plain.length);
    const decoded = dnsPacket.decode(packed);
    expect(decoded.answers?.[0]?.name).toBe('DB.DnsTest.svc.cluster.local');
    expect(decoded.authorities?.[0]?.name).toBe('cluster.local');
  });

  it('writes SRV targets whole (RFC 2782) and points the additional owners at them', () => {
    const target = `db-0.${SVC}`;
    const packet: Packet = {
      ...response([{ name: `_http._tcp.${SVC}`, type: 'SRV', ttl: 5, class: 'IN', data: { priority: 0, weight: 100, port: 80, target } }], [], [a(target, '10.244.6.1')]),
      questions: [{ name: `_http._tcp.${SVC}`, type: 'SRV', class: 'IN' }],
    };
    const { packed } = decodesSame(packet);
    // The target's first label is present exactly once (in the SRV data), never as a pointer inside it.
    const label = Buffer.from('\u0004db-0', 'latin1');
    expect(packed.indexOf(label)).toBeGreaterThan(0);
    expect(packed.indexOf(label, packed.indexOf(label) + 1)).toBe(-1);
    // Written whole: the next label follows, where a compressed target would have a pointer.
    const srvAt = packed.indexOf(label);
    expect(packed.subarray(srvAt + label.length, srvAt + label.length + 3)).toEqual(Buffer.from('\u0002db', 'latin1'));
  });

  it('leaves messages it cannot walk as they are', () => {
    const compressed = compressMessage(dnsPacket.encode(response([a(SVC, '10.0.0.1'), a(SVC, '10.0.0.2')])));
    expect(compressMessage(compressed)).toBe(compressed);
    const truncated = dnsPacket.encode(response([a(SVC, '10.0.0.1')])).subarray(0, 30);
    expect(compressMessage(truncated)).toBe(truncated);
  });
});

describe('UDP sizing uses the compressed size', () => {
  it('a headless service whose plain answer exceeds 512 bytes fits compressed, without TC', async () => {
    const store = new ObjectStore();
    const records = new ClusterRecords('cluster.local');
    const endpoints = Array.from({ length: 24 }, (_, i) => makeEndpoint(`10.244.6.${i + 1}`));
    records.update(store, changedServices(store.apply([
      { type: 'service-upsert', service: makeService({ name: 'db', namespace: 'dnstest', clusterIPs: [], headless: true }) },
      { type: 'slice-upsert', slice: makeSlice({ name: 'db-a', namespace: 'dnstest', serviceName: 'db', endpoints }) },
    ])));
    const handler = new QueryHandler(new ZoneResponder(records.index, { ttl: 5, podRecords: 'insecure' }), undefined);
    const query = dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: SVC, type: 'A', class: 'IN' }] });
    const out = await handler.handle(query, 'udp');
    if (!out) throw new Error('no reply');
    const decoded = dnsPacket.decode(out);
    expect(decoded.answers).toHaveLength(24);
    expect((decoded.flags ?? 0) & FLAG_TC).toBe(0);
    expect(out.length).toBeLessThanOrEqual(512);
    expect(dnsPacket.encode(decoded).length).toBeGreaterThan(512); // the same answer uncompressed would not fit
  });
});
