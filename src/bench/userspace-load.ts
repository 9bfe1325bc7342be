// Bulk-throughput load for the userspace bench, run as its own node process inside a test-bed
// namespace with one JSON argument (node builtins only, so it runs from dist/ without the rest):
//   {"role":"server","ip":...,"port":...}  every connection gets 64 KB chunks as fast as the
//     peer reads them (back-pressure honoured), until it closes; prints "listening".
//   {"role":"client","ip":...,"port":...,"durationMs":N,"concurrency":N}  long connections that
//     read for durationMs; prints {"bytes":N,"elapsedMs":N,"errors":N}.
//   {"role":"hold","ip":...,"port":...,"count":N}  opens N connections, 100 at a time, reads
//     each one's greeting, prints {"held":N,"errors":N} and keeps them open (idle) until killed.
import { connect, createServer, type Socket } from 'node:net';

interface LoadConfig {
  readonly role: 'server' | 'client' | 'hold';
  readonly ip: string;
  readonly port: number;
  readonly durationMs?: number;
  readonly concurrency?: number;
  readonly count?: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function serve(cfg: LoadConfig): void {
  const server = createServer((socket: Socket) => {
    socket.on('error', () => socket.destroy());
    const pump = (): void => {
      while (!socket.destroyed && socket.write(CHUNK));
    };
    socket.on('drain', pump);
    pump();
  });
  server.listen(cfg.port, cfg.ip, () => process.stdout.write('listening\n'));
}

function readFor(cfg: LoadConfig, durationMs: number, counts: { bytes: number; errors: number }): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: cfg.ip, port: cfg.port });
    let started = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, durationMs);
    socket.on('data', (d: Buffer) => {
      started = true;
      counts.bytes += d.length;
    });
    socket.on('error', () => {
      if (!started) counts.errors++;
      clearTimeout(timer);
      resolve();
    });
  });
}

async function client(cfg: LoadConfig): Promise<void> {
  const durationMs = cfg.durationMs ?? 2000;
  const counts = { bytes: 0, errors: 0 };
  const start = performance.now();
  await Promise.all(Array.from({ length: cfg.concurrency ?? 4 }, () => readFor(cfg, durationMs, counts)));
  process.stdout.write(`${JSON.stringify({ ...counts, elapsedMs: performance.now() - start })}\n`);
}

function holdOne(cfg: LoadConfig, held: Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: cfg.ip, port: cfg.port });
    socket.once('data', () => {
      held.push(socket);
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function hold(cfg: LoadConfig): Promise<void> {
  const held: Socket[] = [];
  let errors = 0;
  for (let left = cfg.count ?? 1000; left > 0; left -= 100) {
    const ok = await Promise.all(Array.from({ length: Math.min(100, left) }, () => holdOne(cfg, held)));
    errors += ok.filter((o) => !o).length;
  }
  for (const s of held) s.setTimeout(0);
  process.stdout.write(`${JSON.stringify({ held: held.length, errors })}\n`);
  setInterval(() => undefined, 60_000);
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
if (cfg.role === 'server') serve(cfg);
else if (cfg.role === 'hold') await hold(cfg);
else await client(cfg);
