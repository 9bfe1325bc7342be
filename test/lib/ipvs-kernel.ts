// Whether this kernel has IPVS, for tests that must pass on kernels with and
// without it (a stock Debian kernel autoloads ip_vs; some CI hosts have none).
import { existsSync } from 'node:fs';
import { NETLINK_GENERIC } from '../../src/kernel/netlink/constants.js';
import { resolveFamily } from '../../src/kernel/netlink/genl.js';
import { NetlinkSocket } from '../../src/kernel/netlink/socket.js';

/** Created by the ip_vs module itself: the answer that does not depend on the code under test. */
export const IPVS_PROC_FILE = '/proc/net/ip_vs';

/**
 * Asks for the IPVS generic netlink family, which autoloads ip_vs where the
 * kernel has it (as the agent's probe does), then looks for the module's proc
 * file. The lookup's own outcome is deliberately not the answer.
 */
export function kernelHasIpvs(): boolean {
  const socket = NetlinkSocket.open({ protocol: NETLINK_GENERIC });
  try {
    resolveFamily(socket, 'IPVS');
  } catch {
    // ENOENT where there is no IPVS: the proc file says which.
  } finally {
    socket.close();
  }
  return existsSync(IPVS_PROC_FILE);
}
