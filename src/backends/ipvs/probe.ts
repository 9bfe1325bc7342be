// The IPVS capability probe, as the issue and kube-proxy want it: not a look at
// /proc/modules but the real thing — resolve the generic netlink family, then create
// and delete a throwaway virtual service. Anything that fails says why.
import { IpvsClient } from '../../kernel/netlink/ipvs.js';
import type { IpvsService } from '../../kernel/netlink/ipvs-types.js';
import type { ProbeResult } from '../common/probe-result.js';

/** TEST-NET-2 (RFC 5737), port 9 (discard): never a real service; created and deleted at once. */
const THROWAWAY: IpvsService = { af: 'IPv4', protocol: 'TCP', address: '198.51.100.254', port: 9, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };

function describe(err: unknown): string {
  const e = err as { errnoName?: string; message?: string; extackMessage?: string };
  return `${e.errnoName ? `${e.errnoName}: ` : ''}${e.extackMessage ?? e.message ?? String(err)}`;
}

export function probeIpvs(netns?: string): ProbeResult {
  let client: IpvsClient;
  try {
    client = IpvsClient.open(netns ? { netns } : {});
  } catch (err) {
    return { ok: false, reason: `the kernel has no IPVS: generic netlink family "IPVS" could not be resolved (${describe(err)})` };
  }
  try {
    client.newService(THROWAWAY);
    client.delService(THROWAWAY);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `IPVS is present but cannot be programmed: creating a test virtual service failed (${describe(err)})` };
  } finally {
    client.close();
  }
}
