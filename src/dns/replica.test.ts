// The UDP workers' copy of the index: a snapshot and then every batch, in order, leave the
// replica answering exactly as the index it follows; forwarding relayed by id.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { SourceEvent } from '../sources/source.js';
import { ObjectStore } from '../state/object-store.js';
import { makeEndpoint, makeService, makeSlice } from '../state/test-builders.js';
import { ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import type { Upstream } from './query-handler.js';
import { type IndexBatch, RecordIndex } from './record-index.js';
import { changedServices } from './records-from-store.js';
import { answerRelayed, RelayedUpstream, type UpstreamRequest } from './worker-upstream.js';

const NAMES = ['web.a.svc.cluster.local', 'db.a.svc.cluster.local', 'db-0.db.a.svc.cluster.local', '_http._tcp.web.a.svc.cluster.local', 'a.svc.cluster.local', 'b.svc.cluster.local', '1.0.96.10.in-addr.arpa', '10-244-0-9.a.pod.cluster.local'];

/** What each name answers for A, SRV and PTR, as one comparable list. */
function answers(index: RecordIndex): unknown[] {
  const r = new ZoneResponder(index, { ttl: 5, podRecords: 'verified' });
  return NAMES.flatMap((n) => ['A', 'SRV', 'PTR'].map((t) => r.answer(n, t)));
}

describe('a replica of the record index', () => {
  it('follows the index through a snapshot and then its batches', () => {
    const store = new ObjectStore();
    const batches: IndexBatch[] = [];
    const records = new ClusterRecords('cluster.local', (b) => batches.push(structuredClone(b)));
    const apply = (events: SourceEvent[]): void => records.update(store, changedServices(store.apply(events)));
    apply([
      { type: 'service-upsert', service: makeService({ name: 'web', namespace: 'a', clusterIPs: ['10.96.0.1'] }) },
      { type: 'service-upsert', service: makeService({ name: 'db', namespace: 'a', clusterIPs: [], headless: true }) },
      { type: 'slice-upsert', slice: makeSlice({ name: 'db-x', namespace: 'a', serviceName: 'db', endpoints: [makeEndpoint('10.244.0.9', { hostname: 'db-0' })] }) },
    ]);
    // A replica started now: the snapshot, cloned as postMessage clones it.
    const replica = new RecordIndex('cluster.local');
    replica.apply(structuredClone(records.index.snapshot()));
    const seen = batches.length;
    expect(answers(replica)).toEqual(answers(records.index));

    apply([
      { type: 'service-upsert', service: makeService({ name: 'web', namespace: 'b', clusterIPs: ['10.96.0.2'] }) },
      { type: 'service-delete', namespace: 'a', name: 'web' },
      { type: 'slice-upsert', slice: makeSlice({ name: 'db-x', namespace: 'a', serviceName: 'db', endpoints: [makeEndpoint('10.244.0.10')] }) },
    ]);
    for (const b of batches.slice(seen)) replica.apply(b);
    expect(answers(replica)).toEqual(answers(records.index));
    expect(replica.serial).toBe(records.index.serial);
    expect(replica.hasService('a/web')).toBe(false);
    expect(replica.lookup('web.b.svc.cluster.local')).toEqual([{ type: 'A', data: '10.96.0.2' }, expect.objectContaining({ type: 'SRV' })]);
  });

  it('an update that changes nothing posts no batch', () => {
    const store = new ObjectStore();
    const batches: IndexBatch[] = [];
    const records = new ClusterRecords('cluster.local', (b) => batches.push(b));
    records.update(store, ['x/gone']);
    expect(batches).toEqual([]);
  });
});

describe('forwarding relayed from a worker', () => {
  it('carries the query to the main thread\'s upstream and its answer back by id', async () => {
    const asked: string[] = [];
    const upstream: Upstream = {
      forward: async (raw, query) => {
        asked.push(query.questions?.[0]?.name ?? '');
        return { response: dnsPacket.encode({ type: 'response', id: query.id ?? 0, questions: query.questions ?? [], answers: [{ name: 'example.com', type: 'A', ttl: 60, class: 'IN', data: '192.0.2.1' }] }) };
      },
      resolve: async (name) => [{ name, type: 'A', ttl: 60, class: 'IN', data: '192.0.2.2' }],
    };
    // The relay's two ends joined by structuredClone, as postMessage joins them.
    const worker: RelayedUpstream = new RelayedUpstream((request: UpstreamRequest) => void answerRelayed(upstream, structuredClone(request)).then((reply) => worker.settle(structuredClone(reply))));
    const raw = dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'example.com', type: 'A', class: 'IN' }] });
    const [a, b] = await Promise.all([worker.forward(raw, dnsPacket.decode(raw), false), worker.resolve('ext.example.org', 'A')]);
    expect(asked).toEqual(['example.com']);
    expect(dnsPacket.decode(a.response as Buffer)).toMatchObject({ id: 4242, answers: [{ name: 'example.com', data: '192.0.2.1' }] });
    expect(b).toEqual([{ name: 'ext.example.org', type: 'A', ttl: 60, class: 'IN', data: '192.0.2.2' }]);
  });

  it('answers a failed or absent upstream with no response', async () => {
    const failing: Upstream = { forward: () => Promise.reject(new Error('down')), resolve: () => Promise.reject(new Error('down')) };
    const raw = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'x.test', type: 'A', class: 'IN' }] });
    expect(await answerRelayed(failing, { type: 'forward', id: 1, raw, viaTcp: false })).toEqual({ type: 'forwarded', id: 1, response: undefined });
    expect(await answerRelayed(failing, { type: 'resolve', id: 2, name: 'x.test', qtype: 'A' })).toEqual({ type: 'resolved', id: 2, answers: [] });
    expect(await answerRelayed(undefined, { type: 'forward', id: 3, raw, viaTcp: false })).toEqual({ type: 'forwarded', id: 3, response: undefined });
  });
});
