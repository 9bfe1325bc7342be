// A bounded cache of upstream answers: positive answers for their smallest TTL, negative
// ones (NXDOMAIN, NODATA) for the SOA's negative TTL (RFC 2308), least recently used evicted.
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import { RCODE } from './wire.js';

export interface ForwardCacheOptions {
  readonly maxEntries: number;
  /** Upper bound on any cached TTL, seconds. */
  readonly maxTtl: number;
  readonly now?: () => number;
}

interface Entry {
  readonly packet: DecodedPacket;
  readonly storedAt: number;
  readonly expiresAt: number;
}

function ttlOf(r: Answer): number | undefined {
  return r.type === 'OPT' ? undefined : r.ttl;
}

/** Seconds this response may be cached for, or undefined when it must not be. */
export function cacheSeconds(p: DecodedPacket): number | undefined {
  if (p.flag_tc) return undefined;
  const rcode = (p.flags ?? 0) & 0xf;
  if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return undefined;
  const answers = p.answers ?? [];
  if (rcode === RCODE.NOERROR && answers.length > 0) {
    const ttls = answers.map(ttlOf).filter((t): t is number => t !== undefined);
    return ttls.length > 0 ? Math.min(...ttls) : undefined;
  }
  const soa = (p.authorities ?? []).find((r) => r.type === 'SOA');
  if (!soa || soa.type !== 'SOA') return undefined;
  return Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0);
}

export class ForwardCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: ForwardCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  static key(name: string, type: string, klass: string): string {
    return `${name.toLowerCase().replace(/\.$/, '')}|${type}|${klass}`;
  }

  get size(): number {
    return this.entries.size;
  }

  store(key: string, packet: DecodedPacket): void {
    const seconds = cacheSeconds(packet);
    if (seconds === undefined || seconds <= 0) return;
    const now = this.now();
    this.entries.delete(key);
    this.entries.set(key, { packet, storedAt: now, expiresAt: now + Math.min(seconds, this.options.maxTtl) * 1000 });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** The cached response re-addressed to this query (its id and question), TTLs aged; undefined on a miss. */
  lookup(key: string, id: number, questions: dnsPacket.Question[], opt: Answer | undefined): Buffer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry); // most recently used last
    const age = Math.floor((now - entry.storedAt) / 1000);
    const aged = (rs: Answer[] | undefined): Answer[] => (rs ?? []).filter((r) => r.type !== 'OPT').map((r) => ({ ...r, ttl: Math.max(0, (ttlOf(r) ?? 0) - age) }) as Answer);
    const p = entry.packet;
    return dnsPacket.encode({
      type: 'response',
      id,
      flags: p.flags ?? 0,
      questions,
      answers: aged(p.answers),
      authorities: aged(p.authorities),
      additionals: [...aged(p.additionals), ...(opt ? [opt] : [])],
    });
  }
}
