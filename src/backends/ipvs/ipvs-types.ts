// The IPVS objects the planner reasons about: the netlink layer's own types
// (src/kernel/netlink/ipvs-types.ts), plus the planner's ops and constants.

export type { IpvsDestination, IpvsService } from '../../kernel/netlink/ipvs-types.js';
import type { IpvsDestination, IpvsService } from '../../kernel/netlink/ipvs-types.js';

/** include/uapi/linux/ip_vs.h */
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
/** Set by the kernel on every hashed service; never ours to set or compare. */
export const IP_VS_SVC_F_HASHED = 0x0002;

/** The IPv4 persistence netmask kube-proxy uses (one client address per entry). */
export const IPV4_NETMASK = 0xffffffff;
export const IPV6_NETMASK = 128;

/** The dummy interface every IPVS virtual address is bound to, so that the node accepts the traffic. */
export const KUBE_IPVS_INTERFACE = 'kube-ipvs0';

/** One virtual server as a kernel dump shows it. */
export interface IpvsVirtualServerDump {
  readonly service: IpvsService;
  readonly destinations: readonly IpvsDestination[];
}

export type IpvsServiceOpKind = 'new-service' | 'update-service' | 'del-service';
export type IpvsDestOpKind = 'new-dest' | 'update-dest' | 'del-dest';

/**
 * One netlink request. Services are named by their identity (af, protocol,
 * address, port, or fwmark); dest ops carry the service they belong to.
 */
export type IpvsOp =
  | { readonly op: IpvsServiceOpKind; readonly service: IpvsService; readonly dest?: undefined }
  | { readonly op: IpvsDestOpKind; readonly service: IpvsService; readonly dest: IpvsDestination };
