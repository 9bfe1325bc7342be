// The main thread's side of the UDP workers (dns-worker.ts): starts them on the addresses TCP
// bound, hands each a snapshot of the index and then every batch, in order, and restarts one
// that dies. One event loop answered 11-14k queries/s here; the workers spread UDP over cores.
import { Worker } from 'node:worker_threads';
import type { PodRecordMode } from './answer.js';
import type { IndexBatch, RecordIndex } from './record-index.js';
import type { Upstream } from './query-handler.js';
import { DnsListenError, type DnsServerLogger, type ListenAddress } from './server.js';
import { answerRelayed, type UpstreamReply, type UpstreamRequest } from './worker-upstream.js';

export interface UdpWorkerConfig {
  readonly zone: string;
  readonly ttl: number;
  readonly podRecords: PodRecordMode;
  /** Names outside the zone are relayed to the main thread's forwarder (else REFUSED). */
  readonly forwarding: boolean;
  readonly listens: readonly ListenAddress[];
}

export type ToWorker = { readonly type: 'batch'; readonly batch: IndexBatch } | UpstreamReply;
export type ToParent = { readonly type: 'ready' } | { readonly type: 'warn' | 'error'; readonly msg: string; readonly detail?: string } | UpstreamRequest;

export interface UdpWorkersLogger extends DnsServerLogger {
  error(obj: object, msg: string): void;
}

/** A dead worker is replaced after this (not in a tight loop). */
const RESTART_DELAY_MS = 1000;

export class UdpWorkers {
  private readonly workers: (Worker | undefined)[] = [];
  private stopping = false;

  constructor(
    private readonly count: number,
    private readonly config: Omit<UdpWorkerConfig, 'listens'>,
    private readonly index: RecordIndex,
    private readonly upstream: Upstream | undefined,
    private readonly logger?: UdpWorkersLogger,
  ) {}

  async start(listens: readonly ListenAddress[]): Promise<void> {
    // Started side by side: each loads its modules (about a second on a busy machine).
    const started = await Promise.all(Array.from({ length: this.count }, (_, i) => this.spawn(i, listens)));
    started.forEach((w, i) => (this.workers[i] = w));
  }

  /** Every worker applies the batch after what it already has (messages keep their order). */
  post(batch: IndexBatch): void {
    for (const w of this.workers) w?.postMessage({ type: 'batch', batch } satisfies ToWorker);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w?.terminate()));
    this.workers.length = 0;
  }

  private spawn(slot: number, listens: readonly ListenAddress[]): Promise<Worker> {
    const worker = new Worker(new URL('./dns-worker.js', import.meta.url), { workerData: { ...this.config, listens } satisfies UdpWorkerConfig });
    // Sent before any later batch, so the replica starts from exactly this index.
    worker.postMessage({ type: 'batch', batch: this.index.snapshot() } satisfies ToWorker);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: ToParent) => {
        if (m.type === 'forward' || m.type === 'resolve') {
          void answerRelayed(this.upstream, m).then((reply) => worker.postMessage(reply satisfies ToWorker));
        } else if (m.type === 'ready') {
          ready = true;
          resolve(worker);
        } else if (m.type === 'warn') this.logger?.warn({ worker: slot, detail: m.detail }, m.msg);
        else if (!ready) reject(new DnsListenError(`dns udp worker ${slot}: ${m.msg}`));
        else this.logger?.error({ worker: slot }, m.msg);
      });
      worker.on('error', (err) => (ready ? this.logger?.error({ worker: slot, err }, 'dns udp worker failed') : reject(err)));
      worker.once('exit', (code) => {
        if (this.stopping || !ready) return;
        this.workers[slot] = undefined;
        this.logger?.error({ worker: slot, code }, 'dns udp worker exited; restarting it');
        setTimeout(() => {
          if (this.stopping) return;
          this.spawn(slot, listens).then(
            (w) => (this.workers[slot] = w),
            (err: unknown) => this.logger?.error({ worker: slot, err }, 'dns udp worker did not restart'),
          );
        }, RESTART_DELAY_MS).unref();
      });
    });
  }
}
