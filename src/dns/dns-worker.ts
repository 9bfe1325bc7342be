// A UDP worker thread: its own copy of the record index (kept identical to the main thread's by
// the batches it posts), its own responder and forwarder, and a UDP socket per listen address
// bound with SO_REUSEPORT, so the kernel spreads queries over the workers. The main thread keeps
// the one watch, the one store and the forwarder (names outside the zone are relayed to it).
import { parentPort, workerData } from 'node:worker_threads';
import { ZoneResponder } from './answer.js';
import { QueryHandler } from './query-handler.js';
import { RecordIndex } from './record-index.js';
import { bindUdp, serveUdp, type DnsServerLogger } from './server.js';
import type { ToParent, ToWorker, UdpWorkerConfig } from './udp-workers.js';
import { RelayedUpstream } from './worker-upstream.js';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('dns-worker.js runs as a worker thread');
  const config = workerData as UdpWorkerConfig;
  const send = (m: ToParent): void => port.postMessage(m);
  const index = new RecordIndex(config.zone);
  const upstream = config.forwarding ? new RelayedUpstream((request) => send(request)) : undefined;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'batch') index.apply(m.batch);
    else upstream?.settle(m);
  });
  const logger: DnsServerLogger = { warn: (obj, msg) => send({ type: 'warn', msg, detail: String((obj as { err?: unknown }).err ?? '') }) };
  const responder = new ZoneResponder(index, { ttl: config.ttl, podRecords: config.podRecords });
  const handler = new QueryHandler(responder, upstream);
  for (const l of config.listens) {
    const socket = await bindUdp(l.host, l.port, true);
    serveUdp(socket, handler, logger);
  }
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  parentPort?.postMessage({ type: 'error', msg: err instanceof Error ? err.message : String(err) } satisfies ToParent);
  process.exitCode = 1;
});
