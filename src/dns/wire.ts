// Wire constants and header-only replies, for packets the codec cannot (or need not) build.

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof RCODE;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const HEADER_LENGTH = 12;
/** Without EDNS0 a UDP answer may not exceed this (RFC 1035). */
export const CLASSIC_UDP_SIZE = 512;
/** The largest EDNS0 buffer honoured (larger offers are clamped; DNS flag day 2020 advises 1232). */
export const MAX_UDP_SIZE = 4096;
export const MAX_TCP_MESSAGE = 65535;

/** A reply of just a header (no question echoed): for FORMERR and NOTIMP. */
export function headerReply(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH);
  out.writeUInt16BE(query.readUInt16BE(0), 0);
  const flags = query.readUInt16BE(2);
  // Keep the opcode and RD of the query; set QR and the rcode.
  out.writeUInt16BE(FLAG_QR | (flags & 0x7800) | (flags & FLAG_RD) | FLAG_RA | (rcode & 0xf), 2);
  return out;
}

/** Rewrites the id of an encoded message in place. */
export function setId(message: Buffer, id: number): Buffer {
  message.writeUInt16BE(id, 0);
  return message;
}

/** Type codes whose RDATA holds names (RFC 1035 types may be compressed; SRV's may not, RFC 2782). */
const TYPE = { NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, SRV: 33 } as const;
/** A compression pointer is 14 bits: names past this offset cannot be pointed at. */
const MAX_POINTER = 0x3fff;

/**
 * RFC 1035 4.1.4 name compression of a message the codec wrote uncompressed (dns-packet never
 * compresses): owner names, question names and the names in NS, CNAME, SOA, PTR and MX data
 * become pointers to an earlier copy; SRV targets are written whole (RFC 2782) but may be
 * pointed at. Suffixes match byte for byte (case kept), so the message decodes to exactly what
 * was encoded. A message it cannot walk (already compressed, malformed) is returned as it is.
 */
export function compressMessage(message: Buffer): Buffer {
  try {
    return new Compressor(message).run();
  } catch {
    return message;
  }
}

class Compressor {
  private readonly out: Buffer;
  private readonly suffixes = new Map<string, number>();
  private r = HEADER_LENGTH;
  private w = HEADER_LENGTH;

  constructor(private readonly input: Buffer) {
    this.out = Buffer.allocUnsafe(input.length);
  }

  run(): Buffer {
    const inp = this.input;
    if (inp.length < HEADER_LENGTH) throw new RangeError('not walkable');
    inp.copy(this.out, 0, 0, HEADER_LENGTH);
    const questions = inp.readUInt16BE(4);
    const records = inp.readUInt16BE(6) + inp.readUInt16BE(8) + inp.readUInt16BE(10);
    for (let i = 0; i < questions; i++) {
      this.name(true);
      this.copy(4);
    }
    for (let i = 0; i < records; i++) this.record();
    if (this.r !== inp.length) throw new RangeError('not walkable');
    return this.out.subarray(0, this.w);
  }

  private record(): void {
    this.name(true);
    this.need(10);
    const type = this.input.readUInt16BE(this.r);
    const rdlength = this.input.readUInt16BE(this.r + 8);
    this.copy(8);
    const lengthAt = this.w;
    this.w += 2;
    this.r += 2;
    const end = this.r + rdlength;
    if (end > this.input.length) throw new RangeError('not walkable');
    switch (type) {
      case TYPE.NS:
      case TYPE.CNAME:
      case TYPE.PTR:
        this.name(true);
        break;
      case TYPE.MX:
        this.copy(2);
        this.name(true);
        break;
      case TYPE.SOA:
        this.name(true);
        this.name(true);
        this.copy(20);
        break;
      case TYPE.SRV:
        this.copy(6);
        this.name(false);
        break;
      default:
        this.copy(rdlength);
    }
    if (this.r !== end) throw new RangeError('not walkable');
    this.out.writeUInt16BE(this.w - lengthAt - 2, lengthAt);
  }

  /** Copies one uncompressed name, replacing its longest already-written suffix by a pointer. */
  private name(compress: boolean): void {
    const inp = this.input;
    const starts: number[] = [];
    let at = this.r;
    for (;;) {
      this.need(1, at);
      const len = inp[at] as number;
      if (len === 0) break;
      if (len > 63) throw new RangeError('not walkable'); // a pointer or a reserved label type
      starts.push(at);
      at += 1 + len;
    }
    const end = at + 1;
    for (const start of starts) {
      const key = inp.toString('latin1', start, end);
      const target = compress ? this.suffixes.get(key) : undefined;
      if (target !== undefined) {
        this.out.writeUInt16BE(0xc000 | target, this.w);
        this.w += 2;
        this.r = end;
        return;
      }
      if (this.w <= MAX_POINTER && !this.suffixes.has(key)) this.suffixes.set(key, this.w);
      const len = (inp[start] as number) + 1;
      inp.copy(this.out, this.w, start, start + len);
      this.w += len;
    }
    this.out[this.w++] = 0;
    this.r = end;
  }

  private copy(n: number): void {
    this.need(n);
    this.input.copy(this.out, this.w, this.r, this.r + n);
    this.r += n;
    this.w += n;
  }

  private need(n: number, at = this.r): void {
    if (at + n > this.input.length) throw new RangeError('not walkable');
  }
}
