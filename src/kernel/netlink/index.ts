// The kernel-facing netlink layer: a pure codec (tested with golden bytes),
// a thin synchronous socket over libc (koffi), generic netlink family
// resolution, the IPVS and route netlink clients the IPVS mode needs, and the
// nf_tables client of the nftables mode's partial syncs.

export * from './errors.js';
export { AttributeDecoder, NetlinkEncoder, genlAttributes, parseAck, parseDone, parseGenlMessage, parseMessages, readHeader } from './codec.js';
export type { GenlMessage, NetlinkAck, NetlinkHeader, NetlinkMessage } from './codec.js';
export { NetlinkSocket, type NetlinkSocketOptions } from './socket.js';
export { systemLibc, type Libc, type SocketLibc } from '../libc.js';
export { inNetns, netnsPath } from '../netns.js';
export { decodeFamily, encodeGetFamily, resolveFamily, type GenlFamily } from './genl.js';
export { IpvsClient, describeService, type IpvsClientOptions, type IpvsOperation } from './ipvs.js';
export type { IpvsDestination, IpvsForwardMethod, IpvsInfo, IpvsProtocol, IpvsService, IpvsStats } from './ipvs-types.js';
export * from './ipvs-messages.js';
export * from './ipvs-replies.js';
export { RtnetlinkClient, type AddressSpec, type RtnetlinkClientOptions } from './rtnetlink.js';
export { NftNetlink, type NftNetlinkOptions } from './nftables.js';
export type { NftExpr, NftMessage, NftSetElementSpec, NftTableFamily, NftVerdict } from './nftables-messages.js';
export * from './rtnetlink-messages.js';
