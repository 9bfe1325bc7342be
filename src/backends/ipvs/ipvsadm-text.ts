// Virtual servers as `ipvsadm -R` reads them (the form `ipvsadm -S -n` saves), so
// an operator can compare a plan with the kernel or load it by hand.
import type { DesiredIpvs } from './virtual-servers.js';
import { IP_VS_SVC_F_PERSISTENT, type IpvsService } from './ipvs-types.js';

const PROTOCOL_FLAG: Readonly<Record<string, string>> = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service' };

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function serviceArgs(s: IpvsService): string {
  return `${PROTOCOL_FLAG[s.protocol] ?? '-t'} ${hostPort(s.address, s.port)}`;
}

/** One `-A` line per virtual server and one `-a` line per real server, in key order. */
export function ipvsadmRestoreText(desired: DesiredIpvs): string {
  const lines: string[] = [];
  for (const key of [...desired.virtualServers.keys()].sort()) {
    const vs = desired.virtualServers.get(key);
    if (vs === undefined) continue;
    const s = vs.service;
    const persistent = (s.flags & IP_VS_SVC_F_PERSISTENT) !== 0 ? ` -p ${s.timeout}` : '';
    lines.push(`-A ${serviceArgs(s)} -s ${s.scheduler}${persistent}`);
    for (const d of vs.destinations) lines.push(`-a ${serviceArgs(s)} -r ${hostPort(d.address, d.port)} -m -w ${d.weight}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
