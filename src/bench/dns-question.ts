// One UDP question for an A record from a fresh socket (a fresh source port, so the kernel may
// hand it to any of the server's UDP workers): what the DNS bench's change timers and the tests
// poll with. Resolves true when the reply carries `id` and at least one A record; false on any
// other reply, an undecodable one, or none within the timeout.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface Question {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly id?: number;
  readonly timeoutMs?: number;
}

export function answersA(q: Question): Promise<boolean> {
  const id = q.id ?? 1;
  return new Promise((resolve) => {
    const socket = dgram.createSocket(q.host.includes(':') ? 'udp6' : 'udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), q.timeoutMs ?? 1000);
    socket.on('error', () => done(false));
    socket.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg);
        done(p.id === id && (p.answers ?? []).some((a) => a.type === 'A'));
      } catch {
        done(false);
      }
    });
    socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: q.name, type: 'A', class: 'IN' }] }), q.port, q.host);
  });
}
