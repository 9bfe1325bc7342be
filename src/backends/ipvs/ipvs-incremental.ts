// Partial IPVS syncs: the virtual servers of the changed service ports are recomputed and
// merged into what the last sync committed, and only those (plus any still draining a real
// server) are read back from the kernel and planned. A dump of every virtual server costs
// one netlink round trip per virtual server, which at 10,000 services is most of a sync.
import { ipvsAddress } from './ipvs-keys.js';
import type { DesiredIpvs, DesiredVirtualServer } from './virtual-servers.js';
import { IpvsVirtualServerConflictError } from './errors.js';

export interface MergedIpvs {
  /** Every virtual server after the change (what the next partial sync starts from). */
  readonly desired: DesiredIpvs;
  /** The virtual servers to plan: those of the changed service ports, old and new, and the draining ones. */
  readonly relevant: ReadonlySet<string>;
}

/** The virtual server key of a real server's termination key (`<vs key>-><address>:<port>`). */
export function terminationServer(terminationKey: string): string {
  const at = terminationKey.lastIndexOf('->');
  return at < 0 ? terminationKey : terminationKey.slice(0, at);
}

/**
 * Merges `subset` (the virtual servers of `changedPorts`, computed alone) into `previous`.
 * A changed port may not take over an address and port that an unchanged one holds: the
 * holder keeps it and the conflict is reported, as a full computation would.
 */
export function mergeDesired(
  previous: DesiredIpvs,
  subset: DesiredIpvs,
  changedPorts: ReadonlySet<string>,
  draining: ReadonlySet<string>,
  nodeAddresses: ReadonlySet<string>,
): MergedIpvs {
  const virtualServers = new Map<string, DesiredVirtualServer>();
  const relevant = new Set<string>(draining);
  for (const [key, vs] of previous.virtualServers) {
    if (changedPorts.has(vs.servicePort)) relevant.add(key);
    else virtualServers.set(key, vs);
  }
  const problems = [...subset.problems];
  for (const [key, vs] of subset.virtualServers) {
    const holder = virtualServers.get(key);
    if (holder !== undefined) {
      problems.push(new IpvsVirtualServerConflictError(key, vs.servicePort, holder.servicePort));
      continue;
    }
    virtualServers.set(key, vs);
    relevant.add(key);
  }
  const boundAddresses = new Set<string>();
  const nodePortAddresses = new Set<string>(previous.nodePortAddresses);
  for (const vs of virtualServers.values()) {
    const address = vs.service.address;
    if (vs.kind === 'node-port') nodePortAddresses.add(address);
    else if (!nodeAddresses.has(ipvsAddress(address))) boundAddresses.add(address);
  }
  return { desired: { virtualServers, boundAddresses, nodePortAddresses, problems }, relevant };
}

/** `desired` with only the `relevant` virtual servers (addresses stay complete: they are diffed as a whole). */
export function restrictTo(desired: DesiredIpvs, relevant: ReadonlySet<string>): DesiredIpvs {
  const virtualServers = new Map<string, DesiredVirtualServer>();
  for (const key of relevant) {
    const vs = desired.virtualServers.get(key);
    if (vs !== undefined) virtualServers.set(key, vs);
  }
  return { ...desired, virtualServers };
}
