// Forwarding to the upstream nameservers: the client's query as it came (a fresh id),
// over UDP, or TCP when the client asked over TCP and UDP came back truncated; the next
// upstream when one times out or fails; answers cached. Child-process-free Node sockets.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';
import { ForwardCache } from './forward-cache.js';
import type { UpstreamAddress } from './resolv-conf.js';
import { RCODE, setId } from './wire.js';

export interface ForwarderOptions {
  readonly upstreams: readonly UpstreamAddress[];
  /** How long one upstream has to answer before the next is tried. */
  readonly timeoutMs?: number;
  readonly cacheEntries?: number;
}

export interface ForwardResult {
  /** The response for the client (its id), or undefined when every upstream failed. */
  readonly response: Buffer | undefined;
  readonly cached: boolean;
}

const DEFAULT_TIMEOUT_MS = 1500;
const MAX_CACHE_TTL = 3600;

export class Forwarder {
  private readonly cache: ForwardCache;
  private readonly timeoutMs: number;

  constructor(private readonly options: ForwarderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.cache = new ForwardCache({ maxEntries: options.cacheEntries ?? 10_000, maxTtl: MAX_CACHE_TTL });
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Forwards a decoded-and-checked query; `raw` is sent as received (with another id). */
  async forward(raw: Buffer, query: DecodedPacket, viaTcp: boolean): Promise<ForwardResult> {
    const q = query.questions?.[0];
    const id = query.id ?? 0;
    const opt = (query.additionals ?? []).find((r) => r.type === 'OPT');
    const key = q ? ForwardCache.key(q.name, q.type, q.class ?? 'IN') + (opt ? '|edns' : '') : undefined;
    if (key && q) {
      const hit = this.cache.lookup(key, id, [q], opt ? { ...opt } : undefined);
      if (hit) return { response: hit, cached: true };
    }
    const answer = await this.exchange(raw, viaTcp);
    if (!answer) return { response: undefined, cached: false };
    if (key) {
      try {
        this.cache.store(key, dnsPacket.decode(answer));
      } catch {
        // An answer the codec cannot read is passed on, just not cached.
      }
    }
    return { response: setId(answer, id), cached: false };
  }

  /** Resolves a name upstream for an ExternalName's chase: the answer records, or none. */
  async resolve(name: string, type: string): Promise<Answer[]> {
    const q: Question = { name, type: type as Question['type'], class: 'IN' };
    const query = { type: 'query' as const, id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [q] };
    const raw = dnsPacket.encode(query);
    const result = await this.forward(raw, { ...query, flag_qr: false, flag_aa: false, flag_tc: false, flag_rd: true, flag_ra: false, flag_z: false, flag_ad: false, flag_cd: false }, false);
    if (!result.response) return [];
    try {
      return dnsPacket.decode(result.response).answers ?? [];
    } catch {
      return [];
    }
  }

  /** Tries each upstream in turn; a SERVFAIL or REFUSED counts as a failure. */
  private async exchange(raw: Buffer, viaTcp: boolean): Promise<Buffer | undefined> {
    for (const upstream of this.options.upstreams) {
      const id = randomInt(0, 65536);
      const query = Buffer.from(raw);
      setId(query, id);
      try {
        let answer = await udpExchange(upstream, query, this.timeoutMs);
        if (viaTcp && answer && (answer.readUInt16BE(2) & 0x0200) !== 0) answer = await tcpExchange(upstream, query, this.timeoutMs);
        if (!answer || answer.length < 12 || answer.readUInt16BE(0) !== id) continue;
        const rcode = answer.readUInt16BE(2) & 0xf;
        if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) continue;
        return answer;
      } catch {
        continue;
      }
    }
    return undefined;
  }
}

function udpExchange(upstream: UpstreamAddress, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(upstream.host.includes(':') ? 'udp6' : 'udp4');
    let finished = false;
    const done = (value: Buffer | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // Connect errors (no route, refused) arrive here, not in the connect callback.
    socket.on('error', () => done(undefined));
    socket.on('message', (msg) => {
      // The connected socket only hears the upstream asked; the id must be the one asked.
      if (msg.length < 12 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      done(msg);
    });
    // A connected socket hears ICMP port-unreachable at once, so a dead upstream fails over fast.
    socket.connect(upstream.port, upstream.host, () => {
      if (finished) return;
      try {
        socket.send(query, (err) => {
          if (err) done(undefined);
        });
      } catch {
        done(undefined);
      }
    });
  });
}

function tcpExchange(upstream: UpstreamAddress, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port });
    let buffered = Buffer.alloc(0);
    let finished = false;
    const done = (value: Buffer | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) done(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
    });
    socket.on('end', () => done(undefined));
  });
}
