// Identities of virtual and real servers, used to match desired objects with
// a kernel dump. IPv6 addresses are compared in canonical form, so that the
// spelling a dump or a manifest happens to use never causes churn.
import { canonicalIP } from '../../model/ip.js';
import type { IpvsDestination, IpvsService } from './ipvs-types.js';

/** The canonical form of an address (IPv4 strings are taken as they are: dumps and validated state use dotted quads). */
export function ipvsAddress(address: string): string {
  return address.includes(':') ? (canonicalIP(address) ?? address) : address;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${ipvsAddress(address)}]:${port}` : `${address}:${port}`;
}

/** `TCP/10.96.0.10:80`, `UDP/[fd00::a]:53`, or `IPv4/fwmark/7` (fwmark services are never svcplane's). */
export function virtualServerKey(s: IpvsService): string {
  if (s.fwmark !== undefined && s.fwmark > 0) return `${s.af}/fwmark/${s.fwmark}`;
  return `${s.protocol}/${hostPort(s.address, s.port)}`;
}

/** `TCP/10.96.0.10:80->10.244.1.5:8080`: the real server within its virtual server (kube-proxy's GetUniqueRSName). */
export function destinationKey(serviceKey: string, d: Pick<IpvsDestination, 'address' | 'port'>): string {
  return `${serviceKey}->${hostPort(d.address, d.port)}`;
}
