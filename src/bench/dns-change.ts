// The change -> answer time without the manifest source: a store batch applied to the record
// index, carried to the UDP workers' replicas, and asked for over UDP until a worker answers it.
// In process, on loopback, with the bench's services loaded (no dig process per poll).
import { ClusterDns } from '../dns/cluster-dns.js';
import { changedServices } from '../dns/records-from-store.js';
import { ObjectStore } from '../state/object-store.js';
import { makeService } from '../state/test-builders.js';
import { benchServices } from './dns-zone.js';
import { answersA } from './dns-question.js';

/** Milliseconds from each of `runs` new services entering the store to a UDP answer naming it. */
export async function changeThroughWorkersMs(count: number, workers: number, runs = 20): Promise<number[]> {
  const store = new ObjectStore();
  const dns = new ClusterDns({ listens: [{ host: '127.0.0.1', port: 0 }], clusterDomain: 'cluster.local', upstreams: [], podRecords: 'insecure', ttl: 5, udpWorkers: workers });
  const events = benchServices(count).map((s) => ({ type: 'service-upsert' as const, service: makeService({ name: s.name, namespace: s.namespace, clusterIPs: [s.clusterIP] }) }));
  dns.update(store, changedServices(store.apply(events)));
  await dns.start();
  try {
    const port = dns.addresses[0]?.port ?? 0;
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const name = `late-${i}.ns-0.svc.cluster.local`;
      const t0 = performance.now();
      dns.update(store, changedServices(store.apply([{ type: 'service-upsert', service: makeService({ name: `late-${i}`, namespace: 'ns-0', clusterIPs: [`10.99.0.${i + 1}`] }) }])));
      let id = 0;
      while (!(await answersA({ host: '127.0.0.1', port, name, id: (id = (id + 1) & 0xffff) }))) {
        if (performance.now() - t0 > 10_000) throw new Error(`${name}: no answer within 10 s`);
      }
      out.push(performance.now() - t0);
    }
    return out;
  } finally {
    await dns.stop();
  }
}
