// A backend for the ingress tests: answers every request with what it received
// (the local address it was reached on, the request line and the headers) as JSON.
import { createServer } from 'node:http';

// Arguments: IP:PORT ... (each its own listener).
for (const arg of process.argv.slice(2)) {
  const at = arg.lastIndexOf(':');
  const [ip, port] = [arg.slice(0, at), Number(arg.slice(at + 1))];
  const server = createServer((req, res) => {
    const body = JSON.stringify({
      local: `${req.socket.localAddress}:${req.socket.localPort}`,
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, ip);
}
process.stdout.write('ready\n');
