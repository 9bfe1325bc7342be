// The netlink wire format: struct nlmsghdr framing, struct genlmsghdr, and
// struct nlmsgerr with its extended ack. Decoding never trusts a length and
// only ever throws NetlinkDecodeError. The attribute encoder and decoder live
// beside this file and are re-exported here.

import {
  GENL_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  nlAlign,
} from './constants.js';
import { AttributeDecoder } from './attribute-decoder.js';
import { NetlinkDecodeError } from './errors.js';

export { AttributeDecoder } from './attribute-decoder.js';
export { NetlinkEncoder } from './encoder.js';

/** One message: struct nlmsghdr fields and the payload after the header. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Payload bytes (nlmsg_len minus the header), a view into the parsed buffer. */
  readonly data: Uint8Array;
  /** Offset of the message in the parsed buffer. */
  readonly offset: number;
}

export interface NetlinkHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

/** Splits a datagram (or a batch being sent) into its messages. */
export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    const header = readHeaderAt(view, pos);
    out.push({
      type: header.type,
      flags: header.flags,
      seq: header.seq,
      pid: header.pid,
      data: buf.subarray(pos + NLMSG_HDRLEN, pos + header.length),
      offset: pos,
    });
    pos = Math.min(pos + nlAlign(header.length), buf.length);
  }
  return out;
}

/** Reads and checks the struct nlmsghdr at `pos`. */
function readHeaderAt(view: DataView, pos: number): NetlinkHeader {
  const remaining = view.byteLength - pos;
  if (remaining < NLMSG_HDRLEN) {
    throw new NetlinkDecodeError(`truncated message header: ${remaining} bytes, need ${NLMSG_HDRLEN}`, pos);
  }
  const length = view.getUint32(pos, true);
  if (length < NLMSG_HDRLEN) throw new NetlinkDecodeError(`nlmsg_len ${length} is shorter than the header`, pos);
  if (length > remaining) throw new NetlinkDecodeError(`nlmsg_len ${length} exceeds the ${remaining} bytes left`, pos);
  return {
    length,
    type: view.getUint16(pos + 4, true),
    flags: view.getUint16(pos + 6, true),
    seq: view.getUint32(pos + 8, true),
    pid: view.getUint32(pos + 12, true),
  };
}

/** struct genlmsghdr and the attributes after it. */
export interface GenlMessage {
  readonly cmd: number;
  readonly version: number;
  /** The attributes, after the generic netlink header. */
  readonly attributes: Uint8Array;
  /** Offset of `attributes` in the message payload, for error offsets. */
  readonly attributesOffset: number;
}

export function parseGenlMessage(msg: NetlinkMessage): GenlMessage {
  if (msg.data.length < GENL_HDRLEN) {
    throw new NetlinkDecodeError(`generic netlink payload of ${msg.data.length} bytes, need ${GENL_HDRLEN}`, msg.offset);
  }
  return {
    cmd: msg.data[0] ?? 0,
    version: msg.data[1] ?? 0,
    attributes: msg.data.subarray(GENL_HDRLEN),
    attributesOffset: msg.offset + NLMSG_HDRLEN + GENL_HDRLEN,
  };
}

/** An attribute decoder over a generic netlink message's attributes. */
export function genlAttributes(msg: NetlinkMessage): AttributeDecoder {
  const genl = parseGenlMessage(msg);
  return new AttributeDecoder(genl.attributes, genl.attributesOffset);
}

/** struct nlmsgerr { int error; struct nlmsghdr msg; } plus the extended ack TLVs. */
export interface NetlinkAck {
  /** Positive errno; 0 for a plain ack. */
  readonly errno: number;
  /** The request's header, echoed back. */
  readonly request: NetlinkHeader;
  readonly extackMessage?: string;
  readonly extackOffset?: number;
  readonly missingAttribute?: number;
}

/** Decodes the payload of an NLMSG_ERROR message. */
export function parseAck(msg: NetlinkMessage): NetlinkAck {
  const data = msg.data;
  const base = msg.offset + NLMSG_HDRLEN;
  if (data.length < 4 + NLMSG_HDRLEN) {
    throw new NetlinkDecodeError(`NLMSG_ERROR payload of ${data.length} bytes, need ${4 + NLMSG_HDRLEN}`, base);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const error = view.getInt32(0, true);
  // The echoed header may claim the length of the whole original request.
  const requestLength = view.getUint32(4, true);
  const request: NetlinkHeader = {
    length: requestLength,
    type: view.getUint16(8, true),
    flags: view.getUint16(10, true),
    seq: view.getUint32(12, true),
    pid: view.getUint32(16, true),
  };
  const ack: Extack & { errno: number; request: NetlinkHeader } = { errno: error < 0 ? -error : error, request };
  if ((msg.flags & NLM_F_ACK_TLVS) === 0) return ack;
  // Success acks and NETLINK_CAP_ACK sockets echo the header only (NLM_F_CAPPED).
  const echoed = error === 0 || (msg.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : requestLength;
  const tlvStart = 4 + nlAlign(echoed);
  if (echoed < NLMSG_HDRLEN || tlvStart > data.length) {
    throw new NetlinkDecodeError(`NLMSG_ERROR echoes ${echoed} request bytes but has ${data.length - 4}`, base + 4);
  }
  readExtack(new AttributeDecoder(data.subarray(tlvStart), base + tlvStart), ack);
  return ack;
}

/**
 * Decodes the payload of an NLMSG_DONE message: an int error (negative errno,
 * from a dump that failed half-way) and, with NLM_F_ACK_TLVS, an extended ack.
 * Old kernels send an empty payload, which is success.
 */
export function parseDone(msg: NetlinkMessage): Pick<NetlinkAck, 'errno' | 'extackMessage' | 'extackOffset'> {
  const data = msg.data;
  if (data.length < 4) return { errno: 0 };
  const error = new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true);
  const done: Extack & { errno: number } = { errno: error < 0 ? -error : error };
  if ((msg.flags & NLM_F_ACK_TLVS) !== 0) {
    readExtack(new AttributeDecoder(data.subarray(4), msg.offset + NLMSG_HDRLEN + 4), done);
  }
  return done;
}

/** The extended ack fields, filled in as the TLVs are read. */
interface Extack {
  extackMessage?: string;
  extackOffset?: number;
  missingAttribute?: number;
}

function readExtack(ad: AttributeDecoder, into: Extack): void {
  while (ad.next()) {
    switch (ad.type) {
      case NLMSGERR_ATTR_MSG:
        into.extackMessage = ad.string();
        break;
      case NLMSGERR_ATTR_OFFS:
        into.extackOffset = ad.u32();
        break;
      case NLMSGERR_ATTR_MISS_TYPE:
        into.missingAttribute = ad.u32();
        break;
      default:
        break; // cookies, policies: not used here
    }
  }
}

/** The header of the first message in `buf` (a request about to be sent). */
export function readHeader(buf: Uint8Array, pos = 0): NetlinkHeader {
  return readHeaderAt(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), pos);
}
