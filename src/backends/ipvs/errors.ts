import { SvcplaneError } from '../../util/errors.js';

/** A service asks for an IPVS scheduler the kernel does not have; the global default is used instead. */
export class IpvsSchedulerError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPVS_UNKNOWN_SCHEDULER';
  constructor(readonly servicePort: string, readonly scheduler: string, readonly fallback: string) {
    super(`service port ${servicePort}: unknown IPVS scheduler "${scheduler}", using "${fallback}"`);
  }
}

/** Two service ports want the same virtual server (address, port, protocol); the first in key order keeps it. */
export class IpvsVirtualServerConflictError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPVS_VIRTUAL_SERVER_CONFLICT';
  constructor(readonly virtualServer: string, readonly servicePort: string, readonly owner: string) {
    super(`service port ${servicePort}: virtual server ${virtualServer} is already used by ${owner}; ignored`);
  }
}

/** The node-wide configuration cannot be planned from (a bad --ipvs-scheduler). */
export class IpvsConfigError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPVS_INVALID_CONFIG';
}

/** A problem found while computing the desired virtual servers: reported, never fatal. */
export type IpvsDesiredProblem = IpvsSchedulerError | IpvsVirtualServerConflictError;

/** A line of /proc/net/ip_vs the drift check cannot read (the agent then rewrites everything). */
export class IpvsProcTableError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPVS_PROC_TABLE';
}
