// Builds netlink messages into one growing buffer, in the spirit of
// mdlayher/netlink's AttributeEncoder: no allocation per attribute, nested
// attributes and message lengths patched when they end, and several messages
// back to back so that a batch goes to the kernel in one send.

import { GENL_HDRLEN, NLA_F_NESTED, NLA_HDRLEN, NLMSG_HDRLEN, nlAlign } from './constants.js';
import { NetlinkEncodeError } from './errors.js';
import { addressBytes } from './inet-address.js';

const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;
const utf8 = new TextEncoder();

export class NetlinkEncoder {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(Math.max(64, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Forgets everything written, keeping the buffer for reuse. */
  reset(): this {
    this.len = 0;
    return this;
  }

  /** Drops what was written after `length` (a message whose encoding failed half-way). */
  rewind(length: number): void {
    if (length < 0 || length > this.len) throw new NetlinkEncodeError(`cannot rewind to ${length} of ${this.len} bytes`);
    this.len = length;
  }

  /** The bytes written, as a view (valid until the next write or reset). */
  peek(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Writes a struct nlmsghdr with a length patched by endMessage; returns its offset. */
  beginMessage(type: number, flags: number, seq: number, pid = 0): number {
    checkU16(type, 'nlmsg_type');
    checkU16(flags, 'nlmsg_flags');
    checkU32(seq, 'nlmsg_seq');
    checkU32(pid, 'nlmsg_pid');
    const start = this.reserve(NLMSG_HDRLEN);
    this.view.setUint32(start, 0, true);
    this.view.setUint16(start + 4, type, true);
    this.view.setUint16(start + 6, flags, true);
    this.view.setUint32(start + 8, seq, true);
    this.view.setUint32(start + 12, pid, true);
    return start;
  }

  /** Sets nlmsg_len of the message begun at `start` (attributes keep it 4-aligned). */
  endMessage(start: number): void {
    this.padTo4();
    this.view.setUint32(start, this.len - start, true);
  }

  /** struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } */
  genlHeader(cmd: number, version: number): void {
    checkU8(cmd, 'genl cmd');
    checkU8(version, 'genl version');
    const at = this.reserve(GENL_HDRLEN);
    this.buf[at] = cmd;
    this.buf[at + 1] = version;
    this.view.setUint16(at + 2, 0, true);
  }

  // Raw fields of fixed family headers (struct ifinfomsg, struct ifaddrmsg...).
  putU8(value: number): void {
    const v = checkU8(value, 'u8');
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  putU16(value: number): void {
    const v = checkU16(value, 'u16');
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  putU32(value: number): void {
    const v = checkU32(value, 'u32');
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  putI32(value: number): void {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new NetlinkEncodeError(`s32 out of range: ${value}`);
    }
    const at = this.reserve(4);
    this.view.setInt32(at, value, true);
  }

  // Attributes: struct nlattr { u16 nla_len; u16 nla_type; } then the value, padded to 4.
  u8(type: number, value: number): void {
    const v = checkU8(value, 'u8 attribute');
    const at = this.attr(type, 1);
    this.buf[at] = v;
  }
  u16(type: number, value: number): void {
    const v = checkU16(value, 'u16 attribute');
    const at = this.attr(type, 2);
    this.view.setUint16(at, v, true);
  }
  /** A u16 in network byte order (ports). */
  u16be(type: number, value: number): void {
    const v = checkU16(value, 'be16 attribute');
    const at = this.attr(type, 2);
    this.view.setUint16(at, v, false);
  }
  u32(type: number, value: number): void {
    const v = checkU32(value, 'u32 attribute');
    const at = this.attr(type, 4);
    this.view.setUint32(at, v, true);
  }
  u32be(type: number, value: number): void {
    const v = checkU32(value, 'be32 attribute');
    const at = this.attr(type, 4);
    this.view.setUint32(at, v, false);
  }
  u64(type: number, value: bigint): void {
    if (value < 0n || value > 0xffffffffffffffffn) throw new NetlinkEncodeError(`u64 out of range: ${value}`);
    const at = this.attr(type, 8);
    this.view.setBigUint64(at, value, true);
  }
  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING). */
  string(type: number, value: string): void {
    if (value.includes('\0')) throw new NetlinkEncodeError(`string attribute contains NUL: ${JSON.stringify(value)}`);
    // Worst case 3 UTF-8 bytes per UTF-16 unit; the header is rewritten with the true length.
    const at = this.attr(type, value.length * 3 + 1);
    const { written } = utf8.encodeInto(value, this.buf.subarray(at));
    this.buf[at + written] = 0;
    this.len = at + written + 1;
    this.view.setUint16(at - NLA_HDRLEN, NLA_HDRLEN + written + 1, true);
    this.padTo4();
  }
  bytes(type: number, value: Uint8Array): void {
    const at = this.attr(type, value.length);
    this.buf.set(value, at);
  }
  /** A zero-length attribute (NLA_FLAG). */
  flag(type: number): void {
    this.attr(type, 0);
  }
  /** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
  address(type: number, address: string): void {
    this.bytes(type, addressBytes(address));
  }
  /** union nf_inet_addr: always 16 bytes, an IPv4 address in the first 4 (text or 4/16 bytes). */
  inetAddr(type: number, address: string | Uint8Array): void {
    const bytes = typeof address === 'string' ? addressBytes(address) : address;
    if (bytes.length !== 4 && bytes.length !== 16) throw new NetlinkEncodeError(`address of ${bytes.length} bytes`);
    const at = this.attr(type, 16);
    this.buf.fill(0, at, at + 16);
    this.buf.set(bytes, at);
  }

  /** Opens a nested attribute (NLA_F_NESTED set); close it with endNested. */
  beginNested(type: number): number {
    return this.attr(type | NLA_F_NESTED, 0) - NLA_HDRLEN;
  }
  endNested(start: number): void {
    const length = this.len - start;
    if (length > MAX_U16) throw new NetlinkEncodeError(`nested attribute too long: ${length} bytes`);
    this.view.setUint16(start, length, true);
  }

  /** Writes an attribute header for `size` value bytes; returns the value offset. */
  private attr(type: number, size: number): number {
    const total = NLA_HDRLEN + size;
    if (total > MAX_U16) throw new NetlinkEncodeError(`attribute too long: ${size} bytes`);
    checkU16(type, 'attribute type');
    const at = this.reserve(nlAlign(total));
    this.view.setUint16(at, total, true);
    this.view.setUint16(at + 2, type, true);
    // Zero the padding so that output is deterministic.
    this.buf.fill(0, at + total, at + nlAlign(total));
    return at + NLA_HDRLEN;
  }

  private padTo4(): void {
    const aligned = nlAlign(this.len);
    if (aligned !== this.len) {
      this.ensure(aligned - this.len);
      this.buf.fill(0, this.len, aligned);
      this.len = aligned;
    }
  }

  private reserve(size: number): number {
    this.ensure(size);
    const at = this.len;
    this.len += size;
    return at;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < need) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

function checkU8(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new NetlinkEncodeError(`${what} out of range: ${value}`);
  return value;
}
function checkU16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U16) throw new NetlinkEncodeError(`${what} out of range: ${value}`);
  return value;
}
function checkU32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) throw new NetlinkEncodeError(`${what} out of range: ${value}`);
  return value;
}
