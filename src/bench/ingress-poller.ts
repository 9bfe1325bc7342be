// Run by the ingress bench inside its client namespace (`ip netns exec NS node
// ingress-poller.js NODE_IP`): for each host name read from stdin it requests
// http://NODE_IP/ with that Host every 10 ms until the answer is 200, then
// writes the host back. One long-lived process, so the time from an Ingress
// change to it serving is not padded by starting a curl per poll.
import { request } from 'node:http';
import { createInterface } from 'node:readline';

const nodeIp = process.argv[2] ?? '';

function status(host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: nodeIp, port: 80, path: '/', headers: { Host: host }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function waitFor(host: string): Promise<void> {
  while ((await status(host)) !== 200) await new Promise((r) => setTimeout(r, 10));
  process.stdout.write(`${host}\n`);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (host) => void waitFor(host.trim()));
