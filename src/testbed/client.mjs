// Traffic client for the test bed, run inside a namespace with one JSON argument:
//   {"mode":"tcp","ip":"10.96.0.10","port":80,"count":20,"timeoutMs":1000,"concurrency":10}
//     -> prints a JSON array of {"ok":true,"identity":"web-0"} | {"ok":false,"error":"refused"}
//   {"mode":"udp", ... , "sourcePort":40000}  (with sourcePort requests run one after another)
//   {"mode":"hold","ip":...,"port":...,"timeoutMs":1000}
//     -> JSON lines: {"event":"connected","greeting":"web-0"} or {"event":"error","error":kind},
//        then every stdin line is sent and every reply printed as {"event":"line","line":...};
//        {"event":"closed","error"?:kind} when the connection ends.
// Error kinds: refused | timeout | unreachable | prohibited | reset | closed | other:<code>.

import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

const opts = JSON.parse(process.argv[2] ?? '{}');
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

function errorKind(err) {
  switch (err?.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    // EINVAL: a blackhole route for locally generated packets.
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EINVAL':
      return 'unreachable';
    // EPERM: dropped by a local OUTPUT rule; EACCES: a prohibit route or REJECT admin-prohibited.
    case 'EPERM':
    case 'EACCES':
      return 'prohibited';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return `other:${err?.code ?? String(err)}`;
  }
}

/** Connects and resolves with the greeting line; the socket stays open for `onOpen`. */
function tcpGreeting(onOpen) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: opts.ip, port: opts.port });
    socket.setEncoding('utf8');
    let buffered = '';
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish({ ok: false, error: 'timeout' });
    }, opts.timeoutMs);
    socket.on('error', (err) => finish({ ok: false, error: errorKind(err) }));
    socket.on('close', () => finish({ ok: false, error: 'closed' }));
    socket.on('data', function onData(data) {
      buffered += data;
      const nl = buffered.indexOf('\n');
      if (nl < 0 || done) return;
      socket.off('data', onData);
      const rest = buffered.slice(nl + 1);
      finish({ ok: true, identity: buffered.slice(0, nl) });
      if (onOpen) onOpen(socket, rest);
      else socket.destroy();
    });
  });
}

function udpRequest() {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(opts.ip) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), opts.timeoutMs);
    // A connected UDP socket reports ICMP port unreachable as ECONNREFUSED.
    socket.on('error', (err) => finish({ ok: false, error: errorKind(err) }));
    socket.on('message', (msg) => finish({ ok: true, identity: msg.toString('utf8') }));
    socket.bind(opts.sourcePort ?? 0, () => {
      socket.connect(opts.port, opts.ip, (err) => {
        if (err) return finish({ ok: false, error: errorKind(err) });
        socket.send(Buffer.from('who\n'), (sendErr) => {
          if (sendErr) finish({ ok: false, error: errorKind(sendErr) });
        });
      });
    });
  });
}

async function many(request, concurrency) {
  const results = new Array(opts.count);
  let next = 0;
  const worker = async () => {
    while (next < opts.count) {
      const i = next++;
      results[i] = await request();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, opts.count) }, worker));
  return results;
}

function hold() {
  tcpGreeting((socket, rest) => {
    let buffered = rest;
    socket.on('data', (data) => {
      buffered += data;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        print({ event: 'line', line: buffered.slice(0, nl) });
        buffered = buffered.slice(nl + 1);
      }
    });
    let closed = false;
    socket.on('error', (err) => {
      closed = true;
      print({ event: 'closed', error: errorKind(err) });
      process.exit(0);
    });
    socket.on('close', () => {
      if (!closed) print({ event: 'closed' });
      process.exit(0);
    });
    const input = readline.createInterface({ input: process.stdin });
    input.on('line', (line) => socket.write(`${line}\n`));
    input.on('close', () => socket.end());
  }).then((result) => {
    if (result.ok) print({ event: 'connected', greeting: result.identity });
    else {
      print({ event: 'error', error: result.error });
      process.exit(0);
    }
  });
}

switch (opts.mode) {
  case 'tcp':
    print(await many(() => tcpGreeting(undefined), opts.concurrency ?? 10));
    break;
  case 'udp':
    // The same source port twice at once would collide: one after another then.
    print(await many(udpRequest, opts.sourcePort === undefined ? (opts.concurrency ?? 10) : 1));
    break;
  case 'hold':
    hold();
    break;
  default:
    process.stderr.write(`unknown mode ${opts.mode}\n`);
    process.exit(2);
}
