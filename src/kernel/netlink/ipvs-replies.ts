// Pure decoders of IPVS generic netlink replies (the services and
// destinations dumps, GET_INFO). They trust nothing: a malformed reply is a
// NetlinkDecodeError. Attribute layout as in net/netfilter/ipvs/ip_vs_ctl.c.

import type { IPFamily } from '../../model/types.js';
import { AttributeDecoder, genlAttributes, type NetlinkMessage } from './codec.js';
import { NetlinkDecodeError } from './errors.js';
import { familyOfAf, formatAddress } from './inet-address.js';
import * as K from './ipvs-constants.js';
import { FORWARD, PROTOCOLS } from './ipvs-messages.js';
import type { IpvsDestination, IpvsForwardMethod, IpvsInfo, IpvsProtocol, IpvsService, IpvsStats } from './ipvs-types.js';

/** Decodes the attributes nested in IPVS_CMD_ATTR_SERVICE (the kernel sends them in any order). */
export function decodeService(attrs: AttributeDecoder): IpvsService {
  let af: number | undefined;
  let protocol = K.IPPROTO_TCP;
  let addr: RawAddress | undefined;
  let port = 0;
  let fwmark = 0;
  let scheduler = '';
  let flags = 0;
  let timeout = 0;
  let netmask = 0;
  let stats: IpvsStats | undefined;
  let stats64: IpvsStats | undefined;
  while (attrs.next()) {
    switch (attrs.type) {
      case K.IPVS_SVC_ATTR_AF: af = attrs.u16(); break;
      case K.IPVS_SVC_ATTR_PROTOCOL: protocol = attrs.u16(); break;
      case K.IPVS_SVC_ATTR_ADDR: addr = { bytes: attrs.bytes(), offset: attrs.offset }; break;
      case K.IPVS_SVC_ATTR_PORT: port = attrs.u16be(); break;
      case K.IPVS_SVC_ATTR_FWMARK: fwmark = attrs.u32(); break;
      case K.IPVS_SVC_ATTR_SCHED_NAME: scheduler = attrs.string(); break;
      case K.IPVS_SVC_ATTR_FLAGS: flags = firstU32(attrs); break; // struct ip_vs_flags: flags, then mask
      case K.IPVS_SVC_ATTR_TIMEOUT: timeout = attrs.u32(); break;
      case K.IPVS_SVC_ATTR_NETMASK: netmask = attrs.u32(); break;
      case K.IPVS_SVC_ATTR_STATS: stats = decodeStats(attrs.nested()); break;
      case K.IPVS_SVC_ATTR_STATS64: stats64 = decodeStats(attrs.nested()); break;
      default: break; // IPVS_SVC_ATTR_PE_NAME and attributes of later kernels
    }
  }
  const family = familyOfAf(af ?? -1);
  if (family === undefined) throw new NetlinkDecodeError(`IPVS service with address family ${af ?? 'missing'}`, attrs.offset);
  const chosen = stats64 ?? stats;
  return {
    af: family,
    protocol: protocolName(protocol, attrs.offset),
    address: addr ? inetAddress(addr, family) : family === 'IPv4' ? '0.0.0.0' : '::',
    port,
    ...(fwmark !== 0 ? { fwmark } : {}),
    scheduler,
    flags,
    timeout,
    netmask,
    ...(chosen ? { stats: chosen } : {}),
  };
}

/** Decodes the attributes nested in IPVS_CMD_ATTR_DEST; `serviceAf` when the kernel omits the family. */
export function decodeDestination(attrs: AttributeDecoder, serviceAf?: IPFamily): IpvsDestination {
  let af: number | undefined;
  let addr: RawAddress | undefined;
  let port = 0;
  let forward = K.IP_VS_CONN_F_MASQ;
  let weight = 0;
  let upperThreshold = 0;
  let lowerThreshold = 0;
  let activeConnections: number | undefined;
  let inactiveConnections: number | undefined;
  let persistentConnections: number | undefined;
  let stats: IpvsStats | undefined;
  let stats64: IpvsStats | undefined;
  let forwardOffset = 0;
  while (attrs.next()) {
    switch (attrs.type) {
      case K.IPVS_DEST_ATTR_ADDR: addr = { bytes: attrs.bytes(), offset: attrs.offset }; break;
      case K.IPVS_DEST_ATTR_PORT: port = attrs.u16be(); break;
      case K.IPVS_DEST_ATTR_FWD_METHOD: forward = attrs.u32() & K.IP_VS_CONN_F_FWD_MASK; forwardOffset = attrs.offset; break;
      case K.IPVS_DEST_ATTR_WEIGHT: weight = attrs.s32(); break;
      case K.IPVS_DEST_ATTR_U_THRESH: upperThreshold = attrs.u32(); break;
      case K.IPVS_DEST_ATTR_L_THRESH: lowerThreshold = attrs.u32(); break;
      case K.IPVS_DEST_ATTR_ACTIVE_CONNS: activeConnections = attrs.u32(); break;
      case K.IPVS_DEST_ATTR_INACT_CONNS: inactiveConnections = attrs.u32(); break;
      case K.IPVS_DEST_ATTR_PERSIST_CONNS: persistentConnections = attrs.u32(); break;
      case K.IPVS_DEST_ATTR_STATS: stats = decodeStats(attrs.nested()); break;
      case K.IPVS_DEST_ATTR_STATS64: stats64 = decodeStats(attrs.nested()); break;
      case K.IPVS_DEST_ATTR_ADDR_FAMILY: af = attrs.u16(); break;
      default: break; // tunnel type, port and flags
    }
  }
  const family = af !== undefined ? familyOfAf(af) : serviceAf;
  if (family === undefined) throw new NetlinkDecodeError(`IPVS destination with address family ${af ?? 'missing'}`, attrs.offset);
  if (addr === undefined) throw new NetlinkDecodeError('IPVS destination without IPVS_DEST_ATTR_ADDR', attrs.offset);
  const forwardMethod = FORWARD_NAMES.get(forward);
  if (forwardMethod === undefined) throw new NetlinkDecodeError(`IPVS destination with forwarding method ${forward}`, forwardOffset);
  const chosen = stats64 ?? stats;
  return {
    address: inetAddress(addr, family),
    port,
    forwardMethod,
    weight,
    upperThreshold,
    lowerThreshold,
    af: family,
    ...(activeConnections !== undefined ? { activeConnections } : {}),
    ...(inactiveConnections !== undefined ? { inactiveConnections } : {}),
    ...(persistentConnections !== undefined ? { persistentConnections } : {}),
    ...(chosen ? { stats: chosen } : {}),
  };
}

/** A service of an IPVS_CMD_NEW_SERVICE message (a reply of the services dump). */
export function decodeServiceMessage(msg: NetlinkMessage): IpvsService {
  const ad = genlAttributes(msg);
  while (ad.next()) if (ad.type === K.IPVS_CMD_ATTR_SERVICE) return decodeService(ad.nested());
  throw new NetlinkDecodeError('IPVS message without IPVS_CMD_ATTR_SERVICE', msg.offset);
}

/** A destination of an IPVS_CMD_NEW_DEST message (a reply of the destinations dump). */
export function decodeDestinationMessage(msg: NetlinkMessage, serviceAf?: IPFamily): IpvsDestination {
  const ad = genlAttributes(msg);
  while (ad.next()) if (ad.type === K.IPVS_CMD_ATTR_DEST) return decodeDestination(ad.nested(), serviceAf);
  throw new NetlinkDecodeError('IPVS message without IPVS_CMD_ATTR_DEST', msg.offset);
}

/** The IPVS_CMD_SET_INFO reply to IPVS_CMD_GET_INFO. */
export function decodeInfo(msg: NetlinkMessage): IpvsInfo {
  const ad = genlAttributes(msg);
  let versionCode: number | undefined;
  let connTableSize = 0;
  while (ad.next()) {
    if (ad.type === K.IPVS_INFO_ATTR_VERSION) versionCode = ad.u32();
    else if (ad.type === K.IPVS_INFO_ATTR_CONN_TAB_SIZE) connTableSize = ad.u32();
  }
  if (versionCode === undefined) throw new NetlinkDecodeError('IPVS info without IPVS_INFO_ATTR_VERSION', msg.offset);
  const version = `${(versionCode >>> 16) & 0xff}.${(versionCode >>> 8) & 0xff}.${versionCode & 0xff}`;
  return { version, versionCode, connTableSize };
}

/** IPVS_*_ATTR_STATS (u32 counters, u64 bytes) or STATS64 (all u64): read by length. */
export function decodeStats(ad: AttributeDecoder): IpvsStats {
  const v = new Array<number>(K.IPVS_STATS_ATTR_PAD).fill(0);
  while (ad.next()) {
    if (ad.type < 1 || ad.type >= K.IPVS_STATS_ATTR_PAD) continue;
    v[ad.type] = ad.length === 8 ? ad.u64Number() : ad.u32();
  }
  const at = (i: number): number => v[i] ?? 0;
  return {
    connections: at(K.IPVS_STATS_ATTR_CONNS),
    packetsIn: at(K.IPVS_STATS_ATTR_INPKTS),
    packetsOut: at(K.IPVS_STATS_ATTR_OUTPKTS),
    bytesIn: at(K.IPVS_STATS_ATTR_INBYTES),
    bytesOut: at(K.IPVS_STATS_ATTR_OUTBYTES),
    cps: at(K.IPVS_STATS_ATTR_CPS),
    ppsIn: at(K.IPVS_STATS_ATTR_INPPS),
    ppsOut: at(K.IPVS_STATS_ATTR_OUTPPS),
    bpsIn: at(K.IPVS_STATS_ATTR_INBPS),
    bpsOut: at(K.IPVS_STATS_ATTR_OUTBPS),
  };
}

interface RawAddress {
  readonly bytes: Uint8Array;
  readonly offset: number;
}

const FORWARD_NAMES = new Map<number, IpvsForwardMethod>(
  (Object.entries(FORWARD) as [IpvsForwardMethod, number][]).map(([name, value]) => [value, name]),
);

function inetAddress(addr: RawAddress, family: IPFamily): string {
  const size = family === 'IPv4' ? 4 : 16;
  if (addr.bytes.length < size) {
    throw new NetlinkDecodeError(`${family} address attribute of ${addr.bytes.length} bytes`, addr.offset);
  }
  return formatAddress(addr.bytes.subarray(0, size));
}

function firstU32(ad: AttributeDecoder): number {
  if (ad.length < 4) throw new NetlinkDecodeError(`attribute ${ad.type} has ${ad.length} bytes, need 4`, ad.offset);
  const b = ad.bytes();
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

function protocolName(protocol: number, offset: number): IpvsProtocol {
  for (const [name, value] of Object.entries(PROTOCOLS) as [IpvsProtocol, number][]) if (value === protocol) return name;
  throw new NetlinkDecodeError(`IPVS service with protocol ${protocol}`, offset);
}
