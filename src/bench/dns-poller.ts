// Run by the DNS bench inside its namespace (`ip netns exec NS node dns-poller.js PORT`): for
// each name read from stdin it asks 127.0.0.1:PORT for its A record every 2 ms (a fresh socket
// each time, so the kernel may pick any UDP worker) until one answers with an address, then
// writes the name back. One long-lived process, so the time from a manifest change to its
// answer is not padded by starting a dig per poll.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import dnsPacket from 'dns-packet';

const port = Number(process.argv[2]);

function answered(name: string, id: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg);
        done(p.id === id && (p.answers ?? []).some((a) => a.type === 'A'));
      } catch {
        done(false);
      }
    });
    socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  });
}

async function waitFor(name: string): Promise<void> {
  let id = 0;
  while (!(await answered(name, (id = (id + 1) & 0xffff)))) await new Promise((r) => setTimeout(r, 2));
  process.stdout.write(`${name}\n`);
}

createInterface({ input: process.stdin }).on('line', (name) => void waitFor(name.trim()));
