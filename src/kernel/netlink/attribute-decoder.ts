// Walks a run of netlink attributes without trusting them: every length is
// checked against the bytes that are really there, a length under the 4-byte
// header (a 0-length attribute would loop forever) is an error, and every
// typed read checks the value's size. Anything wrong is a NetlinkDecodeError.
//
//   const ad = new AttributeDecoder(payload);
//   while (ad.next()) {
//     switch (ad.type) {
//       case CTRL_ATTR_FAMILY_ID: id = ad.u16(); break;
//       case CTRL_ATTR_MCAST_GROUPS: groups = readGroups(ad.nested()); break;
//     }  // unknown types are skipped
//   }

import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, nlAlign } from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { formatAddress } from './inet-address.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class AttributeDecoder {
  private readonly data: Uint8Array;
  private readonly view: DataView;
  /** Offset of `data` in the outer buffer, for error messages. */
  private readonly origin: number;
  private pos = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private rawType = 0;

  constructor(data: Uint8Array, origin = 0) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.origin = origin;
  }

  /** Moves to the next attribute; false at the end. Throws on a malformed header. */
  next(): boolean {
    const remaining = this.data.length - this.pos;
    if (remaining === 0) return false;
    if (remaining < NLA_HDRLEN) this.fail(`${remaining} trailing bytes, shorter than an attribute header`, this.pos);
    const length = this.view.getUint16(this.pos, true);
    if (length < NLA_HDRLEN) this.fail(`attribute length ${length} is shorter than its header`, this.pos);
    if (length > remaining) this.fail(`attribute length ${length} exceeds the ${remaining} bytes left`, this.pos);
    this.rawType = this.view.getUint16(this.pos + 2, true);
    this.valueStart = this.pos + NLA_HDRLEN;
    this.valueEnd = this.pos + length;
    // The last attribute's padding may be missing; never step past the end.
    this.pos = Math.min(this.pos + nlAlign(length), this.data.length);
    return true;
  }

  /** The attribute type, without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
  get type(): number {
    return this.rawType & NLA_TYPE_MASK;
  }

  /** Whether the sender marked the attribute nested (the kernel often does not). */
  get isNested(): boolean {
    return (this.rawType & NLA_F_NESTED) !== 0;
  }

  /** Length of the value, without header and padding. */
  get length(): number {
    return this.valueEnd - this.valueStart;
  }

  /** Offset of the current attribute's value in the outer buffer. */
  get offset(): number {
    return this.origin + this.valueStart;
  }

  u8(): number {
    this.expectLength(1);
    return this.view.getUint8(this.valueStart);
  }
  u16(): number {
    this.expectLength(2);
    return this.view.getUint16(this.valueStart, true);
  }
  /** A u16 in network byte order (ports). */
  u16be(): number {
    this.expectLength(2);
    return this.view.getUint16(this.valueStart, false);
  }
  u32(): number {
    this.expectLength(4);
    return this.view.getUint32(this.valueStart, true);
  }
  s32(): number {
    this.expectLength(4);
    return this.view.getInt32(this.valueStart, true);
  }
  u32be(): number {
    this.expectLength(4);
    return this.view.getUint32(this.valueStart, false);
  }
  u64(): bigint {
    this.expectLength(8);
    return this.view.getBigUint64(this.valueStart, true);
  }
  /** A u64 as a number (exact up to 2^53: counters). */
  u64Number(): number {
    return Number(this.u64());
  }
  /** A string, up to its first NUL (or the whole value when there is none). */
  string(): string {
    const value = this.data.subarray(this.valueStart, this.valueEnd);
    const nul = value.indexOf(0);
    return utf8.decode(nul === -1 ? value : value.subarray(0, nul));
  }
  /** The value bytes, a view into the decoded buffer. */
  bytes(): Uint8Array {
    return this.data.subarray(this.valueStart, this.valueEnd);
  }
  /** A 4-byte IPv4 or 16-byte IPv6 address. */
  address(): string {
    if (this.length !== 4 && this.length !== 16) {
      this.fail(`address attribute ${this.type} has ${this.length} bytes, not 4 or 16`, this.valueStart);
    }
    return formatAddress(this.bytes());
  }
  /** union nf_inet_addr (16 bytes); `ipv4` takes the first 4. */
  inetAddr(ipv4: boolean): string {
    if (this.length < 16) this.fail(`nf_inet_addr attribute ${this.type} has ${this.length} bytes, not 16`, this.valueStart);
    return formatAddress(this.data.subarray(this.valueStart, this.valueStart + (ipv4 ? 4 : 16)));
  }
  /** A decoder over the attributes nested in this one. */
  nested(): AttributeDecoder {
    return new AttributeDecoder(this.data.subarray(this.valueStart, this.valueEnd), this.origin + this.valueStart);
  }

  private expectLength(size: number): void {
    if (this.length !== size) {
      this.fail(`attribute ${this.type} has ${this.length} value bytes, expected ${size}`, this.valueStart);
    }
  }

  private fail(message: string, at: number): never {
    throw new NetlinkDecodeError(message, this.origin + at);
  }
}
