// Cluster DNS assembled: the record index fed from the object store, the responder, the
// forwarder and the listeners. Both `svcplane dns` and `svcplane run --dns-listen` use it.
import type { ObjectStore } from '../state/object-store.js';
import { type PodRecordMode, ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { QueryHandler } from './query-handler.js';
import type { UpstreamAddress } from './resolv-conf.js';
import { DnsServer, type ListenAddress } from './server.js';
import { Forwarder } from './server-upstream.js';
import { UdpWorkers, type UdpWorkersLogger } from './udp-workers.js';

export interface ClusterDnsOptions {
  readonly listens: readonly ListenAddress[];
  readonly clusterDomain: string;
  /** Empty: names outside the cluster zone are refused. */
  readonly upstreams: readonly UpstreamAddress[];
  readonly podRecords: PodRecordMode;
  readonly ttl: number;
  readonly logger?: UdpWorkersLogger;
  readonly upstreamTimeoutMs?: number;
  /** Worker threads serving UDP (SO_REUSEPORT sockets, a copy of the index each); 0: UDP in this thread. */
  readonly udpWorkers?: number;
}

export class ClusterDns {
  readonly records: ClusterRecords;
  private readonly server: DnsServer;
  private readonly workers: UdpWorkers | undefined;

  constructor(options: ClusterDnsOptions) {
    const workerCount = options.udpWorkers ?? 0;
    this.records = new ClusterRecords(options.clusterDomain, workerCount > 0 ? (batch) => this.workers?.post(batch) : undefined);
    const responder = new ZoneResponder(this.records.index, { ttl: options.ttl, podRecords: options.podRecords });
    const forwarder = options.upstreams.length > 0 ? new Forwarder({ upstreams: options.upstreams, ...(options.upstreamTimeoutMs ? { timeoutMs: options.upstreamTimeoutMs } : {}) }) : undefined;
    this.server = new DnsServer(new QueryHandler(responder, forwarder), options.listens, options.logger, { udp: workerCount === 0 });
    this.workers = workerCount > 0
      ? new UdpWorkers(workerCount, {
        zone: this.records.index.zone, ttl: options.ttl, podRecords: options.podRecords, forwarding: forwarder !== undefined,
      }, this.records.index, forwarder, options.logger)
      : undefined;
  }

  get addresses(): readonly ListenAddress[] {
    return this.server.addresses;
  }

  /** Brings the records up to date with the store: `keys` and `namespaces` are what a batch changed, all when `keys` is omitted. */
  update(store: ObjectStore, keys?: Iterable<string>, namespaces?: Iterable<string>): void {
    this.records.update(store, keys, namespaces);
  }

  async start(): Promise<void> {
    await this.server.start();
    // TCP resolved port 0; the workers bind UDP on the same ports.
    await this.workers?.start(this.server.addresses);
  }

  async stop(): Promise<void> {
    await Promise.all([this.server.stop(), this.workers?.stop()]);
  }
}
