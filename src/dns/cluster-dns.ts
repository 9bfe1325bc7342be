// Cluster DNS assembled: the record index fed from the object store, the responder, the
// forwarder and the listeners. Both `svcplane dns` and `svcplane run --dns-listen` use it.
import type { ObjectStore } from '../state/object-store.js';
import { type PodRecordMode, ZoneResponder } from './answer.js';
import { ClusterRecords } from './cluster-records.js';
import { QueryHandler } from './query-handler.js';
import type { UpstreamAddress } from './resolv-conf.js';
import { DnsServer, type DnsServerLogger, type ListenAddress } from './server.js';
import { Forwarder } from './server-upstream.js';

export interface ClusterDnsOptions {
  readonly listens: readonly ListenAddress[];
  readonly clusterDomain: string;
  /** Empty: names outside the cluster zone are refused. */
  readonly upstreams: readonly UpstreamAddress[];
  readonly podRecords: PodRecordMode;
  readonly ttl: number;
  readonly logger?: DnsServerLogger;
  readonly upstreamTimeoutMs?: number;
}

export class ClusterDns {
  readonly records: ClusterRecords;
  private readonly server: DnsServer;

  constructor(options: ClusterDnsOptions) {
    this.records = new ClusterRecords(options.clusterDomain);
    const responder = new ZoneResponder(this.records.index, { ttl: options.ttl, podRecords: options.podRecords });
    const forwarder = options.upstreams.length > 0 ? new Forwarder({ upstreams: options.upstreams, ...(options.upstreamTimeoutMs ? { timeoutMs: options.upstreamTimeoutMs } : {}) }) : undefined;
    this.server = new DnsServer(new QueryHandler(responder, forwarder), options.listens, options.logger);
  }

  get addresses(): readonly ListenAddress[] {
    return this.server.addresses;
  }

  /** Brings the records up to date with the store: `keys` are the services a batch changed, all when omitted. */
  update(store: ObjectStore, keys?: Iterable<string>): void {
    this.records.update(store, keys);
  }

  start(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
