// Identity server for the test bed, run inside a pod namespace:
//   node identity-server.mjs '{"name":"web-0","tcp":[8080],"udp":[8053]}'
// TCP: on connect writes "<name>\n", then answers every line with "<name>:<line>"
// and keeps the connection open (long-lived connections can be tested).
// UDP: answers every datagram with "<name>".
// HTTP ("http" ports): answers every request with 200 and the body "<name>\n" (an Ingress backend),
// then closes the connection: a proxy in front (nginx) dials again for its next request, and the
// dataplane balances each dial afresh.
// stdout: one JSON object per line: {"event":"ready"} once all ports listen,
// then {"event":"tcp"|"udp","port":N,"from":"<peer ip>","fromPort":N} per
// connection / datagram, so tests can see the source address the pod saw.

import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

const config = JSON.parse(process.argv[2] ?? '{}');
const name = String(config.name);
const tcpPorts = (config.tcp ?? []).map(Number);
const udpPorts = (config.udp ?? []).map(Number);
const httpPorts = (config.http ?? []).map(Number);

const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const peer = (address) => (address.startsWith('::ffff:') ? address.slice(7) : address);

function listenTcp(port) {
  const server = net.createServer((socket) => {
    report({ event: 'tcp', port, from: peer(socket.remoteAddress ?? ''), fromPort: socket.remotePort });
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    socket.write(`${name}\n`);
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        socket.write(`${name}:${line}\n`);
      }
    });
  });
  // '::' also accepts IPv4 (v4-mapped) unless IPv6 is off in the namespace.
  return listen(server, port).catch(() => listen(server, port, '0.0.0.0'));
}

function listenHttp(port) {
  const server = http.createServer((req, res) => {
    report({ event: 'tcp', port, from: peer(req.socket.remoteAddress ?? ''), fromPort: req.socket.remotePort });
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name}\n`);
  });
  return listen(server, port).catch(() => listen(server, port, '0.0.0.0'));
}

function listen(server, port, host = '::') {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function listenUdp(port) {
  const bind = (type, host) =>
    new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type });
      socket.once('error', reject);
      socket.on('message', (_msg, rinfo) => {
        report({ event: 'udp', port, from: peer(rinfo.address), fromPort: rinfo.port });
        socket.send(name, rinfo.port, rinfo.address);
      });
      socket.bind(port, host, () => {
        socket.off('error', reject);
        socket.on('error', () => {});
        resolve();
      });
    });
  return bind('udp6', '::').catch(() => bind('udp4', '0.0.0.0'));
}

try {
  await Promise.all([...tcpPorts.map(listenTcp), ...udpPorts.map(listenUdp), ...httpPorts.map(listenHttp)]);
  report({ event: 'ready' });
} catch (err) {
  process.stderr.write(`identity server ${name}: ${err?.message ?? err}\n`);
  process.exit(1);
}

// The parent holds our stdin: when it goes away (test process killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
