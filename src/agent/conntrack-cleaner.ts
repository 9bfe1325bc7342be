// Turns the stale flows of a sync into conntrack deletions (src/kernel does the deleting).
import type { Logger } from 'pino';
import { CommandNotFoundError } from '../kernel/exec.js';
import type { IPFamily, Protocol } from '../model/types.js';
import type { StaleFlows } from '../state/stale-conntrack.js';
import { SvcplaneError } from '../util/errors.js';
import type { ConntrackCleaner } from './agent.js';

/** The deletions kube-proxy performs; each tolerates "0 flow entries". */
export interface ConntrackOps {
  deleteByServiceIP(ip: string, protocol: Protocol, port: number): Promise<unknown>;
  deleteByNodePort(port: number, protocol: Protocol, family: IPFamily): Promise<unknown>;
  deleteByEndpoint(serviceIP: string, endpointIP: string, protocol: Protocol): Promise<unknown>;
  deleteByNodePortEndpoint(nodePort: number, endpointIP: string, protocol: Protocol): Promise<unknown>;
}

/** Some stale-flow deletions of a sync failed; the others were still made. */
export class ConntrackCleanupError extends SvcplaneError {
  override readonly code = 'SVCPLANE_CONNTRACK_CLEANUP';
  constructor(
    /** Every failure, in order (the first one is also the cause). */
    readonly failures: readonly unknown[],
    /** Deletions the sync needed. */
    readonly wanted: number,
  ) {
    const first = failures[0];
    super(`${failures.length} of ${wanted} stale conntrack deletions failed; first: ${first instanceof Error ? first.message : String(first)}`, { cause: first });
  }

  /** The conntrack tool is not installed: no deletion can succeed until it is. */
  get toolMissing(): boolean {
    return this.failures.some((f) => f instanceof CommandNotFoundError);
  }
}

export class ConntrackFlowCleaner implements ConntrackCleaner {
  constructor(
    private readonly ops: ConntrackOps,
    private readonly logger: Logger,
  ) {}

  /** Makes every deletion, even after one failed (each is a different flow); throws ConntrackCleanupError if any failed. */
  async clear(flows: StaleFlows): Promise<void> {
    const deletions: Array<() => Promise<unknown>> = [
      ...flows.serviceIPs.map((s) => () => this.ops.deleteByServiceIP(s.ip, s.protocol, s.port)),
      ...flows.nodePorts.map((n) => () => this.ops.deleteByNodePort(n.port, n.protocol, n.family)),
      ...flows.endpoints.map((e) => () => this.ops.deleteByEndpoint(e.serviceIP, e.endpointIP, e.protocol)),
      ...flows.nodePortEndpoints.map((e) => () => this.ops.deleteByNodePortEndpoint(e.nodePort, e.endpointIP, e.protocol)),
    ];
    const failures: unknown[] = [];
    for (const deletion of deletions) {
      try {
        await deletion();
      } catch (err) {
        failures.push(err);
        // Without the tool every other deletion fails the same way.
        if (err instanceof CommandNotFoundError) break;
      }
    }
    if (failures.length > 0) throw new ConntrackCleanupError(failures, deletions.length);
    this.logger.debug({ serviceIPs: flows.serviceIPs.length, nodePorts: flows.nodePorts.length, endpoints: flows.endpoints.length }, 'cleared stale conntrack entries');
  }
}
