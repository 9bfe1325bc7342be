// Pure encoders and decoders of the rtnetlink messages the IPVS mode needs:
// a dummy link to hold the service addresses (as kube-proxy's kube-ipvs0),
// and addresses on it. struct ifinfomsg / struct ifaddrmsg follow the
// nlmsghdr; attributes follow them.

import type { IPFamily } from '../../model/types.js';
import { AttributeDecoder, NetlinkEncoder, type NetlinkMessage } from './codec.js';
import { AF_UNSPEC, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_HDRLEN } from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import { addressBytes, afOf, familyOfAf } from './inet-address.js';
import * as R from './rtnetlink-constants.js';

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** IFF_* flags (IFF_UP...). */
  readonly flags: number;
  /** IFLA_INFO_KIND ("dummy", "bridge"...), absent for links without a driver kind (lo). */
  readonly kind?: string;
  readonly mtu?: number;
}

export interface AddressInfo {
  readonly family: IPFamily;
  readonly index: number;
  /** IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL (IPv6). */
  readonly address: string;
  readonly prefixLength: number;
  readonly scope: number;
  /** IFA_FLAGS when present (it carries flags above 8 bits), else ifa_flags. */
  readonly flags: number;
  readonly label?: string;
}

const ACKED = NLM_F_REQUEST | NLM_F_ACK;

/** struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; } */
function writeIfinfomsg(enc: NetlinkEncoder, index: number, flags: number, change: number): void {
  enc.putU8(AF_UNSPEC);
  enc.putU8(0);
  enc.putU16(0);
  enc.putI32(index);
  enc.putU32(flags);
  enc.putU32(change);
}

/** struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; } */
function writeIfaddrmsg(enc: NetlinkEncoder, family: number, prefixLength: number, flags: number, scope: number, index: number): void {
  enc.putU8(family);
  enc.putU8(prefixLength);
  enc.putU8(flags);
  enc.putU8(scope);
  enc.putU32(index);
}

function checkLinkName(name: string): void {
  if (!/^[^\s/:\0]{1,15}$/.test(name) || Buffer.byteLength(name) >= R.IFNAMSIZ || name === '.' || name === '..') {
    throw new NetlinkEncodeError(`invalid interface name: ${JSON.stringify(name)}`);
  }
}

/** RTM_NEWLINK, create-only: IFLA_IFNAME and IFLA_LINKINFO { IFLA_INFO_KIND }. */
export function encodeNewLink(seq: number, name: string, kind: string, enc = new NetlinkEncoder(128)): Uint8Array {
  checkLinkName(name);
  enc.reset();
  const msg = enc.beginMessage(R.RTM_NEWLINK, ACKED | NLM_F_CREATE | NLM_F_EXCL, seq);
  writeIfinfomsg(enc, 0, 0, 0);
  enc.string(R.IFLA_IFNAME, name);
  const info = enc.beginNested(R.IFLA_LINKINFO);
  enc.string(R.IFLA_INFO_KIND, kind);
  enc.endNested(info);
  enc.endMessage(msg);
  return enc.finish();
}

/** RTM_NEWLINK on an existing link: set or clear IFF_UP (as `ip link set up`). */
export function encodeSetLinkUp(seq: number, index: number, up: boolean, enc = new NetlinkEncoder(64)): Uint8Array {
  enc.reset();
  const msg = enc.beginMessage(R.RTM_NEWLINK, ACKED, seq);
  writeIfinfomsg(enc, index, up ? R.IFF_UP : 0, R.IFF_UP);
  enc.endMessage(msg);
  return enc.finish();
}

export function encodeDelLink(seq: number, index: number, enc = new NetlinkEncoder(64)): Uint8Array {
  enc.reset();
  const msg = enc.beginMessage(R.RTM_DELLINK, ACKED, seq);
  writeIfinfomsg(enc, index, 0, 0);
  enc.endMessage(msg);
  return enc.finish();
}

/** RTM_GETLINK by name (not a dump): the reply is one RTM_NEWLINK, or ENODEV. */
export function encodeGetLink(seq: number, name: string, enc = new NetlinkEncoder(64)): Uint8Array {
  checkLinkName(name);
  enc.reset();
  const msg = enc.beginMessage(R.RTM_GETLINK, ACKED, seq);
  writeIfinfomsg(enc, 0, 0, 0);
  enc.string(R.IFLA_IFNAME, name);
  enc.endMessage(msg);
  return enc.finish();
}

/**
 * RTM_NEWADDR (create-only) or RTM_DELADDR of a host address: IFA_LOCAL and
 * IFA_ADDRESS both the address, as iproute2 sends for an address without a peer.
 * IPv6 gets IFA_F_NODAD: a service address must be usable at once, not tentative.
 */
export function writeAddress(enc: NetlinkEncoder, seq: number, add: boolean, index: number, address: string, prefixLength?: number): void {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) throw new NetlinkEncodeError(`invalid link index ${index}`);
  const bytes = addressBytes(address);
  const family = bytes.length === 4 ? 'IPv4' : 'IPv6';
  const prefix = prefixLength ?? bytes.length * 8;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) {
    throw new NetlinkEncodeError(`prefix length ${prefix} out of range for ${address}`);
  }
  // Everything that can fail is checked above, before anything is written.
  const msg = enc.beginMessage(add ? R.RTM_NEWADDR : R.RTM_DELADDR, add ? ACKED | NLM_F_CREATE | NLM_F_EXCL : ACKED, seq);
  writeIfaddrmsg(enc, afOf(family), prefix, family === 'IPv6' ? R.IFA_F_NODAD : 0, R.RT_SCOPE_UNIVERSE, index);
  enc.bytes(R.IFA_LOCAL, bytes);
  enc.bytes(R.IFA_ADDRESS, bytes);
  enc.endMessage(msg);
}

export function encodeNewAddress(seq: number, index: number, address: string, prefixLength?: number): Uint8Array {
  const enc = new NetlinkEncoder(64);
  writeAddress(enc, seq, true, index, address, prefixLength);
  return enc.finish();
}

export function encodeDelAddress(seq: number, index: number, address: string, prefixLength?: number): Uint8Array {
  const enc = new NetlinkEncoder(64);
  writeAddress(enc, seq, false, index, address, prefixLength);
  return enc.finish();
}

/** RTM_GETADDR dump of one family (or both with undefined). */
export function encodeGetAddresses(seq: number, family?: IPFamily): Uint8Array {
  const enc = new NetlinkEncoder(32);
  const msg = enc.beginMessage(R.RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeIfaddrmsg(enc, family ? afOf(family) : AF_UNSPEC, 0, 0, 0, 0);
  enc.endMessage(msg);
  return enc.finish();
}

/** An RTM_NEWLINK message (reply to RTM_GETLINK or a dump). */
export function decodeLink(msg: NetlinkMessage): LinkInfo {
  if (msg.data.length < R.IFINFOMSG_LEN) {
    throw new NetlinkDecodeError(`ifinfomsg of ${msg.data.length} bytes, need ${R.IFINFOMSG_LEN}`, msg.offset + NLMSG_HDRLEN);
  }
  const view = new DataView(msg.data.buffer, msg.data.byteOffset, R.IFINFOMSG_LEN);
  let name = '';
  let kind: string | undefined;
  let mtu: number | undefined;
  const ad = new AttributeDecoder(msg.data.subarray(R.IFINFOMSG_LEN), msg.offset + NLMSG_HDRLEN + R.IFINFOMSG_LEN);
  while (ad.next()) {
    if (ad.type === R.IFLA_IFNAME) name = ad.string();
    else if (ad.type === R.IFLA_MTU) mtu = ad.u32();
    else if (ad.type === R.IFLA_LINKINFO) {
      const info = ad.nested();
      while (info.next()) if (info.type === R.IFLA_INFO_KIND) kind = info.string();
    }
  }
  return {
    index: view.getInt32(4, true),
    name,
    flags: view.getUint32(8, true),
    ...(kind !== undefined ? { kind } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
  };
}

/** An RTM_NEWADDR message (a reply of the address dump). */
export function decodeAddress(msg: NetlinkMessage): AddressInfo {
  const base = msg.offset + NLMSG_HDRLEN;
  if (msg.data.length < R.IFADDRMSG_LEN) {
    throw new NetlinkDecodeError(`ifaddrmsg of ${msg.data.length} bytes, need ${R.IFADDRMSG_LEN}`, base);
  }
  const view = new DataView(msg.data.buffer, msg.data.byteOffset, R.IFADDRMSG_LEN);
  const family = familyOfAf(view.getUint8(0));
  if (family === undefined) throw new NetlinkDecodeError(`address family ${view.getUint8(0)}`, base);
  let local: string | undefined;
  let address: string | undefined;
  let label: string | undefined;
  let flags = view.getUint8(2);
  const ad = new AttributeDecoder(msg.data.subarray(R.IFADDRMSG_LEN), base + R.IFADDRMSG_LEN);
  while (ad.next()) {
    if (ad.type === R.IFA_LOCAL) local = ad.address();
    else if (ad.type === R.IFA_ADDRESS) address = ad.address();
    else if (ad.type === R.IFA_LABEL) label = ad.string();
    else if (ad.type === R.IFA_FLAGS) flags = ad.u32();
  }
  const chosen = local ?? address;
  if (chosen === undefined) throw new NetlinkDecodeError('address message without IFA_LOCAL or IFA_ADDRESS', base);
  return {
    family,
    index: view.getUint32(4, true),
    address: chosen,
    prefixLength: view.getUint8(1),
    scope: view.getUint8(3),
    flags,
    ...(label !== undefined ? { label } : {}),
  };
}
