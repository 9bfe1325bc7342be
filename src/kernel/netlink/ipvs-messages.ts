// Pure encoders and decoders of IPVS generic netlink messages: no socket, so
// that their bytes are tested without an IPVS kernel. `write*` functions
// append one message to an encoder (a batch); `encode*` return one message.
// Attribute types follow what the kernel parses (net/netfilter/ipvs/ip_vs_ctl.c):
// ports are big-endian u16, addresses a 16-byte nf_inet_addr, flags a
// struct ip_vs_flags { u32 flags; u32 mask; }.

import { NetlinkEncoder } from './codec.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from './constants.js';
import { NetlinkEncodeError } from './errors.js';
import { addressBytes, afOf } from './inet-address.js';
import * as K from './ipvs-constants.js';
import type { IpvsDestination, IpvsForwardMethod, IpvsProtocol, IpvsService } from './ipvs-types.js';

/** Wire values of the protocols and forwarding methods (shared with the decoders). */
export const PROTOCOLS: Record<IpvsProtocol, number> = { TCP: K.IPPROTO_TCP, UDP: K.IPPROTO_UDP, SCTP: K.IPPROTO_SCTP };
export const FORWARD: Record<IpvsForwardMethod, number> = {
  masq: K.IP_VS_CONN_F_MASQ,
  tunnel: K.IP_VS_CONN_F_TUNNEL,
  route: K.IP_VS_CONN_F_DROUTE,
};
const ACKED = NLM_F_REQUEST | NLM_F_ACK;

/**
 * Appends one IPVS request: the nlmsghdr, the genlmsghdr and `body`'s
 * attributes. A value that cannot be encoded throws NetlinkEncodeError and
 * leaves the encoder as it was, so a batch being built stays well-formed.
 */
function writeCommand(enc: NetlinkEncoder, familyId: number, seq: number, cmd: number, flags: number, body?: () => void): void {
  const msg = enc.beginMessage(familyId, flags, seq);
  try {
    enc.genlHeader(cmd, K.IPVS_GENL_VERSION);
    body?.();
  } catch (err) {
    enc.rewind(msg);
    throw err;
  }
  enc.endMessage(msg);
}

/** IPVS_CMD_ATTR_SERVICE: the identity, and with `full` the options the kernel requires on add/edit. */
function writeService(enc: NetlinkEncoder, svc: IpvsService, full: boolean): void {
  const nest = enc.beginNested(K.IPVS_CMD_ATTR_SERVICE);
  enc.u16(K.IPVS_SVC_ATTR_AF, afOf(svc.af));
  if (svc.fwmark !== undefined && svc.fwmark !== 0) {
    enc.u32(K.IPVS_SVC_ATTR_FWMARK, svc.fwmark);
  } else {
    const address = addressBytes(svc.address);
    if (address.length !== (svc.af === 'IPv4' ? 4 : 16)) {
      throw new NetlinkEncodeError(`service address ${svc.address} is not ${svc.af}`);
    }
    enc.u16(K.IPVS_SVC_ATTR_PROTOCOL, PROTOCOLS[svc.protocol]);
    enc.inetAddr(K.IPVS_SVC_ATTR_ADDR, address);
    enc.u16be(K.IPVS_SVC_ATTR_PORT, svc.port);
  }
  if (full) {
    const nameBytes = Buffer.byteLength(svc.scheduler);
    if (nameBytes === 0 || nameBytes >= K.IP_VS_SCHEDNAME_MAXLEN) {
      throw new NetlinkEncodeError(`scheduler name must be 1-${K.IP_VS_SCHEDNAME_MAXLEN - 1} bytes: ${JSON.stringify(svc.scheduler)}`);
    }
    enc.string(K.IPVS_SVC_ATTR_SCHED_NAME, svc.scheduler);
    const flags = new Uint8Array(8); // struct ip_vs_flags, host order
    const view = new DataView(flags.buffer);
    view.setUint32(0, svc.flags >>> 0, true);
    view.setUint32(4, 0xffffffff, true);
    enc.bytes(K.IPVS_SVC_ATTR_FLAGS, flags);
    enc.u32(K.IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
    enc.u32(K.IPVS_SVC_ATTR_NETMASK, svc.netmask);
  }
  enc.endNested(nest);
}

/** IPVS_CMD_ATTR_DEST: address and port, and with `full` the options required on add/edit. */
function writeDestination(enc: NetlinkEncoder, dest: IpvsDestination, full: boolean): void {
  const address = addressBytes(dest.address);
  const nest = enc.beginNested(K.IPVS_CMD_ATTR_DEST);
  enc.inetAddr(K.IPVS_DEST_ATTR_ADDR, address);
  enc.u16be(K.IPVS_DEST_ATTR_PORT, dest.port);
  if (full) {
    const af = dest.af ?? (address.length === 4 ? 'IPv4' : 'IPv6');
    if (address.length !== (af === 'IPv4' ? 4 : 16)) throw new NetlinkEncodeError(`destination address ${dest.address} is not ${af}`);
    enc.u32(K.IPVS_DEST_ATTR_FWD_METHOD, FORWARD[dest.forwardMethod]);
    enc.u32(K.IPVS_DEST_ATTR_WEIGHT, dest.weight);
    enc.u32(K.IPVS_DEST_ATTR_U_THRESH, dest.upperThreshold);
    enc.u32(K.IPVS_DEST_ATTR_L_THRESH, dest.lowerThreshold);
    enc.u16(K.IPVS_DEST_ATTR_ADDR_FAMILY, afOf(af));
  }
  enc.endNested(nest);
}

export function writeNewService(enc: NetlinkEncoder, familyId: number, seq: number, svc: IpvsService): void {
  writeCommand(enc, familyId, seq, K.IPVS_CMD_NEW_SERVICE, ACKED, () => writeService(enc, svc, true));
}
export function writeUpdateService(enc: NetlinkEncoder, familyId: number, seq: number, svc: IpvsService): void {
  writeCommand(enc, familyId, seq, K.IPVS_CMD_SET_SERVICE, ACKED, () => writeService(enc, svc, true));
}
export function writeDelService(enc: NetlinkEncoder, familyId: number, seq: number, svc: IpvsService): void {
  writeCommand(enc, familyId, seq, K.IPVS_CMD_DEL_SERVICE, ACKED, () => writeService(enc, svc, false));
}
export function writeNewDestination(enc: NetlinkEncoder, familyId: number, seq: number, svc: IpvsService, dest: IpvsDestination): void {
  writeCommand(enc, familyId, seq, K.IPVS_CMD_NEW_DEST, ACKED, () => {
    writeService(enc, svc, false);
    writeDestination(enc, dest, true);
  });
}
export function writeUpdateDestination(enc: NetlinkEncoder, familyId: number, seq: number, svc: IpvsService, dest: IpvsDestination): void {
  writeCommand(enc, familyId, seq, K.IPVS_CMD_SET_DEST, ACKED, () => {
    writeService(enc, svc, false);
    writeDestination(enc, dest, true);
  });
}
export function writeDelDestination(enc: NetlinkEncoder, familyId: number, seq: number, svc: IpvsService, dest: IpvsDestination): void {
  writeCommand(enc, familyId, seq, K.IPVS_CMD_DEL_DEST, ACKED, () => {
    writeService(enc, svc, false);
    writeDestination(enc, dest, false);
  });
}

function once(write: (enc: NetlinkEncoder) => void): Uint8Array {
  const enc = new NetlinkEncoder(256);
  write(enc);
  return enc.finish();
}

export const encodeNewService = (familyId: number, seq: number, svc: IpvsService): Uint8Array =>
  once((enc) => writeNewService(enc, familyId, seq, svc));
export const encodeUpdateService = (familyId: number, seq: number, svc: IpvsService): Uint8Array =>
  once((enc) => writeUpdateService(enc, familyId, seq, svc));
export const encodeDelService = (familyId: number, seq: number, svc: IpvsService): Uint8Array =>
  once((enc) => writeDelService(enc, familyId, seq, svc));
export const encodeNewDestination = (familyId: number, seq: number, svc: IpvsService, dest: IpvsDestination): Uint8Array =>
  once((enc) => writeNewDestination(enc, familyId, seq, svc, dest));
export const encodeUpdateDestination = (familyId: number, seq: number, svc: IpvsService, dest: IpvsDestination): Uint8Array =>
  once((enc) => writeUpdateDestination(enc, familyId, seq, svc, dest));
export const encodeDelDestination = (familyId: number, seq: number, svc: IpvsService, dest: IpvsDestination): Uint8Array =>
  once((enc) => writeDelDestination(enc, familyId, seq, svc, dest));
/** IPVS_CMD_GET_SERVICE dump: every service. */
export const encodeGetServices = (familyId: number, seq: number): Uint8Array =>
  once((enc) => writeCommand(enc, familyId, seq, K.IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP));
/** IPVS_CMD_GET_DEST dump: the destinations of one service. */
export const encodeGetDestinations = (familyId: number, seq: number, svc: IpvsService): Uint8Array =>
  once((enc) => writeCommand(enc, familyId, seq, K.IPVS_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP, () => writeService(enc, svc, false)));
export const encodeGetInfo = (familyId: number, seq: number): Uint8Array =>
  once((enc) => writeCommand(enc, familyId, seq, K.IPVS_CMD_GET_INFO, ACKED));
export const encodeFlush = (familyId: number, seq: number): Uint8Array =>
  once((enc) => writeCommand(enc, familyId, seq, K.IPVS_CMD_FLUSH, ACKED));
