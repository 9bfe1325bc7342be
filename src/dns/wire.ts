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
