// The UDP socket's own lookup (answers go to rinfo's IP literal without dns.lookup's deferral),
// and a real loopback exchange through bindUdp/serveUdp: the first answer built, the second
// from the answer cache, both sent through that lookup to the asker's address and port.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectStore } from '../state/object-store.js';
import { makeService } from '../state/test-builders.js';
import { ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { QueryHandler } from './query-handler.js';
import { changedServices } from './records-from-store.js';
import { bindUdp, literalLookup, serveUdp, UDP_RECV_BUFFER_BYTES } from './server.js';

describe('literalLookup', () => {
  it('calls back before returning, with the family of an IPv4 or IPv6 literal', () => {
    const seen: unknown[] = [];
    literalLookup('127.0.0.1', 4, (err, address, family) => seen.push([err, address, family]));
    literalLookup('::1', 6, (err, address, family) => seen.push([err, address, family]));
    expect(seen).toEqual([
      [null, '127.0.0.1', 4],
      [null, '::1', 6],
    ]);
  });

  it('refuses a name instead of resolving it', () => {
    let error: Error | null = null;
    literalLookup('example.com', 4, (err) => (error = err));
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain('"example.com": not an IP address');
  });
});

describe('serveUdp on a bound socket', () => {
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  it('asks for a receive buffer above the system default (queries queue through a stall instead of being dropped)', async () => {
    const socket = await bindUdp('127.0.0.1', 0, false);
    sockets.push(socket);
    const rmemDefault = Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8'));
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // Linux reports twice what it granted: the request, capped at rmem_max.
    expect(socket.getRecvBufferSize()).toBe(2 * Math.min(UDP_RECV_BUFFER_BYTES, rmemMax));
    expect(socket.getRecvBufferSize()).toBeGreaterThan(rmemDefault);
  });

  it('answers twice on loopback (built, then from the cache), each to the asker with its id', async () => {
    const store = new ObjectStore();
    const records = new ClusterRecords('cluster.local');
    records.update(store, changedServices(store.apply([{ type: 'service-upsert', service: makeService({ name: 'web', namespace: 'a', clusterIPs: ['10.96.0.7'] }) }])));
    const handler = new QueryHandler(new ZoneResponder(records.index, { ttl: 5, podRecords: 'insecure' }), undefined);
    const server = await bindUdp('127.0.0.1', 0, false);
    sockets.push(server);
    serveUdp(server, handler);
    const client = dgram.createSocket('udp4');
    sockets.push(client);
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const ask = (id: number): Promise<dnsPacket.Packet> =>
      new Promise((resolve) => {
        client.once('message', (m) => resolve(dnsPacket.decode(m)));
        client.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'web.a.svc.cluster.local' }] }), server.address().port, '127.0.0.1');
      });
    const first = await ask(11);
    expect(handler.cached(dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'web.a.svc.cluster.local' }] }), 'udp')).toBeDefined();
    const second = await ask(12);
    for (const [answer, id] of [[first, 11], [second, 12]] as const) {
      expect(answer.id).toBe(id);
      expect(answer.answers?.map((a) => [a.type, (a as { data?: unknown }).data])).toEqual([['A', '10.96.0.7']]);
    }
  });
});
