// Latency client for benchmarks, run inside a namespace with one JSON argument:
//   {"mode":"tcp","ip":...,"port":...,"durationMs":2000,"concurrency":4}
//     many short TCP connections: each connects, reads the server's greeting line, closes.
//   {"mode":"udp","ip":...,"port":...,"durationMs":2000}
//     request/response datagrams, one at a time, each on a fresh socket (as a DNS client).
//   {"mode":"stream","ip":...,"port":...,"durationMs":2000,"concurrency":4}
//     a few long connections, one line in flight on each, answered by the identity server.
// Prints {"micros":[...per operation...],"elapsedMs":N,"errors":N}: latencies of each
// connection (connect to greeting), datagram round trip or line round trip.
import dgram from 'node:dgram';
import net from 'node:net';

const opts = JSON.parse(process.argv[2] ?? '{}');
const micros = [];
let errors = 0;
const deadline = performance.now() + opts.durationMs;

function tcpOnce() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect({ host: opts.ip, port: opts.port });
    const fail = () => { errors++; socket.destroy(); resolve(); };
    socket.setTimeout(2000, fail);
    socket.once('error', fail);
    socket.once('data', () => {
      micros.push(Math.round((performance.now() - t0) * 1000));
      socket.destroy();
      resolve();
    });
  });
}

function udpOnce() {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const t0 = performance.now();
    const timer = setTimeout(() => { errors++; socket.close(); resolve(); }, 2000);
    socket.once('message', () => {
      clearTimeout(timer);
      micros.push(Math.round((performance.now() - t0) * 1000));
      socket.close();
      resolve();
    });
    socket.send('ping', opts.port, opts.ip);
  });
}

function stream() {
  return new Promise((resolve) => {
    const socket = net.connect({ host: opts.ip, port: opts.port });
    socket.setEncoding('utf8');
    let buffered = '';
    let greeted = false;
    let t0 = 0;
    let answered = 0;
    // At least one round trip per connection, however slow the machine (an emulated VM).
    const next = () => {
      if (answered > 0 && performance.now() >= deadline) { socket.destroy(); resolve(); return; }
      t0 = performance.now();
      socket.write('x\n');
    };
    socket.once('error', () => { errors++; resolve(); });
    socket.setTimeout(5000, () => { errors++; socket.destroy(); resolve(); });
    socket.on('data', (data) => {
      buffered += data;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        buffered = buffered.slice(nl + 1);
        if (greeted) {
          micros.push(Math.round((performance.now() - t0) * 1000));
          answered++;
        }
        greeted = true;
        next();
      }
    });
  });
}

async function worker() {
  if (opts.mode === 'stream') return stream();
  const once = opts.mode === 'udp' ? udpOnce : tcpOnce;
  // At least one operation per worker, however slow the machine.
  do await once();
  while (performance.now() < deadline);
}

const start = performance.now();
await Promise.all(Array.from({ length: opts.mode === 'udp' ? 1 : (opts.concurrency ?? 1) }, worker));
process.stdout.write(`${JSON.stringify({ micros, elapsedMs: performance.now() - start, errors })}\n`);
