// Run by the DNS bench inside its namespace (`ip netns exec NS node dns-poller.js PORT`): for
// each name read from stdin it asks 127.0.0.1:PORT for its A record every 2 ms (a fresh socket
// each time, so the kernel may pick any UDP worker) until one answers with an address, then
// writes the name back. One long-lived process, so the time from a manifest change to its
// answer is not padded by starting a dig per poll.
import { createInterface } from 'node:readline';
import { answersA } from './dns-question.js';

const port = Number(process.argv[2]);

async function waitFor(name: string): Promise<void> {
  let id = 0;
  while (!(await answersA({ host: '127.0.0.1', port, name, id: (id = (id + 1) & 0xffff), timeoutMs: 500 }))) await new Promise((r) => setTimeout(r, 2));
  process.stdout.write(`${name}\n`);
}

createInterface({ input: process.stdin }).on('line', (name) => void waitFor(name.trim()));
