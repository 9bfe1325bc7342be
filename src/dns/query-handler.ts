// One query in, one reply out (or none): checks the message, answers from the cluster zone
// or forwards, and fits the reply to the transport (EDNS0 buffer size, TC over UDP).
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import type { ZoneResponder } from './answer.js';
import { AnswerCache } from './answer-cache.js';
import { CLASSIC_UDP_SIZE, compressMessage, FLAG_AA, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, HEADER_LENGTH, headerReply, MAX_TCP_MESSAGE, MAX_UDP_SIZE, RCODE } from './wire.js';

export type Transport = 'udp' | 'tcp';

/** What forwarding needs (the socket side lives in server-upstream.ts). */
export interface Upstream {
  forward(raw: Buffer, query: DecodedPacket, viaTcp: boolean): Promise<{ response: Buffer | undefined }>;
  resolve(name: string, type: string): Promise<Answer[]>;
}

/** Zone transfers are not offered. */
const NOT_IMPLEMENTED_TYPES = new Set(['AXFR', 'IXFR', 'MAILA', 'MAILB']);

/**
 * Cluster-zone answers kept for repeated questions, per transport and handler (per UDP worker).
 * Sized for a working set of tens of thousands of names (the DNS bench asks about 16,000
 * distinct questions); an entry is a few hundred bytes.
 */
const ANSWER_CACHE_ENTRIES = 50_000;

export class QueryHandler {
  private readonly cache: AnswerCache;

  constructor(
    private readonly responder: ZoneResponder,
    private readonly upstream: Upstream | undefined,
  ) {
    this.cache = new AnswerCache(ANSWER_CACHE_ENTRIES, () => responder.serial);
  }

  /**
   * The stored answer to a repeated question (with the asker's id), or undefined: the UDP
   * servers' synchronous path, no decode and no promise. Only checked queries are stored, under
   * all their bytes after the id, so a hit needs no check of its own.
   */
  cached(raw: Buffer, transport: Transport): Buffer | undefined {
    return this.cache.get(raw, transport);
  }

  async handle(raw: Buffer, transport: Transport): Promise<Buffer | undefined> {
    // Too short to carry an id to answer, or itself a response (never answer those: loops).
    if (raw.length < HEADER_LENGTH || (raw.readUInt16BE(2) & FLAG_QR) !== 0) return undefined;
    const opcode = (raw.readUInt16BE(2) >> 11) & 0xf;
    if (opcode !== 0) return headerReply(raw, RCODE.NOTIMP);
    if (raw.readUInt16BE(4) !== 1) return headerReply(raw, RCODE.FORMERR);
    const cached = this.cache.get(raw, transport);
    if (cached) return cached;
    const serial = this.responder.serial;
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return headerReply(raw, RCODE.FORMERR);
    }
    const q = query.questions?.[0];
    if (!q || typeof q.name !== 'string') return headerReply(raw, RCODE.FORMERR);
    if (q.class !== 'IN' || NOT_IMPLEMENTED_TYPES.has(q.type)) return headerReply(raw, RCODE.NOTIMP);
    const opt = (query.additionals ?? []).find((r) => r.type === 'OPT');
    const limit = transport === 'tcp' ? MAX_TCP_MESSAGE : opt && opt.type === 'OPT' ? Math.min(MAX_UDP_SIZE, Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize ?? 0)) : CLASSIC_UDP_SIZE;
    const replyOpt: Answer[] = opt ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_SIZE, flags: 0, options: [] } as unknown as Answer] : [];

    const zone = this.responder.answer(q.name, q.type);
    if (zone.kind === 'forward') {
      if (!this.upstream) return this.encode(query, { rcode: RCODE.REFUSED, answers: [], authorities: [], additionals: replyOpt, aa: false }, limit);
      const { response } = await this.upstream.forward(raw, query, transport === 'tcp');
      if (!response) return this.encode(query, { rcode: RCODE.SERVFAIL, answers: [], authorities: [], additionals: replyOpt, aa: false }, limit);
      return response.length <= limit ? response : truncated(response);
    }
    const answers = [...zone.answers];
    if (zone.chase && this.upstream) answers.push(...(await this.upstream.resolve(zone.chase, q.type)).filter((r) => r.type === 'CNAME' || r.type === q.type));
    const out = this.encode(query, { rcode: RCODE[zone.rcode], answers, authorities: zone.authorities, additionals: [...zone.additionals, ...replyOpt], aa: true }, limit);
    // Answers with upstream data (a chased ExternalName) follow the upstream's TTLs: not kept here.
    if (!zone.chase) this.cache.set(raw, transport, out, serial);
    return out;
  }

  private encode(query: DecodedPacket, r: { rcode: number; answers: Answer[]; authorities: Answer[]; additionals: Answer[]; aa: boolean }, limit: number): Buffer {
    const flags = (r.aa ? FLAG_AA : 0) | ((query.flags ?? 0) & FLAG_RD) | FLAG_RA | r.rcode;
    const packet: Packet = { type: 'response', id: query.id ?? 0, flags, questions: query.questions ?? [], answers: r.answers, authorities: r.authorities, additionals: r.additionals };
    // Sizes are those of the compressed message: what goes on the wire decides what fits.
    const encode = (p: Packet): Buffer => compressMessage(dnsPacket.encode(p));
    const out = encode(packet);
    if (out.length <= limit) return out;
    const opt = r.additionals.filter((a) => a.type === 'OPT');
    if (limit < MAX_TCP_MESSAGE) {
      // The additional section is a courtesy: drop it before truncating (RFC 2181 9).
      const lean = encode({ ...packet, additionals: opt });
      if (lean.length <= limit) return lean;
      // Over UDP: an empty answer with TC sends the client to TCP for all of it.
      return encode({ ...packet, flags: flags | FLAG_TC, answers: [], authorities: [], additionals: opt });
    }
    // Over TCP the message cannot grow past 64 KiB: keep as many answers as fit.
    let keep = r.answers.length;
    let fitted = encode({ ...packet, additionals: opt });
    while (fitted.length > limit && keep > 0) {
      keep = Math.floor(keep * (limit / fitted.length) * 0.98);
      fitted = encode({ ...packet, answers: r.answers.slice(0, keep), additionals: opt });
    }
    return fitted;
  }
}

/** An upstream answer too large for the client's buffer: its header and question with TC. */
function truncated(response: Buffer): Buffer {
  try {
    const p = dnsPacket.decode(response);
    return dnsPacket.encode({ type: 'response', id: p.id ?? 0, flags: (p.flags ?? 0) | FLAG_TC, questions: p.questions ?? [], answers: [], authorities: [], additionals: [] });
  } catch {
    const out = Buffer.from(response.subarray(0, HEADER_LENGTH));
    out.writeUInt16BE(out.readUInt16BE(2) | FLAG_TC, 2);
    out.fill(0, 4);
    return out;
  }
}
