// The IPVS objects, shaped after moby/ipvs.

import type { IPFamily } from '../../model/types.js';

export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';
export type IpvsForwardMethod = 'masq' | 'tunnel' | 'route';

/**
 * A virtual service. Identified by af + protocol + address + port, or by
 * af + fwmark when fwmark is set (non-zero); the kernel then ignores (and
 * reports no) protocol, address and port: decoding gives TCP, the unspecified
 * address and port 0.
 */
export interface IpvsService {
  readonly af: IPFamily;
  readonly protocol: IpvsProtocol;
  readonly address: string;
  readonly port: number;
  readonly fwmark?: number;
  /** Scheduler name: rr, wrr, lc, wlc, sh, mh... (at most 15 bytes). */
  readonly scheduler: string;
  /** IP_VS_SVC_F_* bits. Sent with mask 0xffffffff; the kernel reports IP_VS_SVC_F_HASHED too. */
  readonly flags: number;
  /** Persistence timeout in seconds (with IP_VS_SVC_F_PERSISTENT). */
  readonly timeout: number;
  /** Persistence netmask as ipvsadm sends it: 0xffffffff (IPv4 /32) or a prefix length 1-128 (IPv6). */
  readonly netmask: number;
  /** Only in decoded services. */
  readonly stats?: IpvsStats;
}

export interface IpvsDestination {
  readonly address: string;
  readonly port: number;
  readonly forwardMethod: IpvsForwardMethod;
  readonly weight: number;
  /** Connection thresholds, 0 for none. */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** The destination's family when it differs from the service's (tunnel only); defaults to its address's. */
  readonly af?: IPFamily;
  // Only in decoded destinations:
  readonly activeConnections?: number;
  readonly inactiveConnections?: number;
  readonly persistentConnections?: number;
  readonly stats?: IpvsStats;
}

/** Counters and rates (ip_vs_stats_user); bytes are exact up to 2^53. */
export interface IpvsStats {
  readonly connections: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly cps: number;
  readonly ppsIn: number;
  readonly ppsOut: number;
  readonly bpsIn: number;
  readonly bpsOut: number;
}

export interface IpvsInfo {
  /** "1.2.1" */
  readonly version: string;
  /** IP_VS_VERSION_CODE form, e.g. 0x010201. */
  readonly versionCode: number;
  /** Size of the connection hash table. */
  readonly connTableSize: number;
}
