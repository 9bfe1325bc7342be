// The change -> answer time without the manifest source: a store batch applied to the record
// index, carried to the UDP workers' replicas, and asked for over UDP until a worker answers it.
// In process, on loopback, with the bench's services loaded (no dig process per poll).
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { ClusterDns } from '../dns/cluster-dns.js';
import { changedServices } from '../dns/records-from-store.js';
import { ObjectStore } from '../state/object-store.js';
import { makeService } from '../state/test-builders.js';
import { benchServices } from './dns-zone.js';

/** One UDP question from a fresh socket (a fresh source port: the kernel may pick any worker). */
function answered(port: number, name: string, id: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.on('message', (msg) => {
      const p = dnsPacket.decode(msg);
      done(p.id === id && (p.answers?.length ?? 0) > 0);
    });
    socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  });
}

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
      while (!(await answered(port, name, ++id))) {
        if (performance.now() - t0 > 10_000) throw new Error(`${name}: no answer within 10 s`);
      }
      out.push(performance.now() - t0);
    }
    return out;
  } finally {
    await dns.stop();
  }
}
