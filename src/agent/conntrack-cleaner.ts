// Turns the stale flows of a sync into conntrack deletions (src/kernel does the deleting).
import type { Logger } from 'pino';
import type { IPFamily, Protocol } from '../model/types.js';
import type { StaleFlows } from '../state/stale-conntrack.js';
import type { ConntrackCleaner } from './agent.js';

/** The deletions kube-proxy performs; each tolerates "0 flow entries". */
export interface ConntrackOps {
  deleteByServiceIP(ip: string, protocol: Protocol, port: number): Promise<unknown>;
  deleteByNodePort(port: number, protocol: Protocol, family: IPFamily): Promise<unknown>;
  deleteByEndpoint(serviceIP: string, endpointIP: string, protocol: Protocol): Promise<unknown>;
  deleteByNodePortEndpoint(nodePort: number, endpointIP: string, protocol: Protocol): Promise<unknown>;
}

export class ConntrackFlowCleaner implements ConntrackCleaner {
  constructor(
    private readonly ops: ConntrackOps,
    private readonly logger: Logger,
  ) {}

  async clear(flows: StaleFlows): Promise<void> {
    for (const s of flows.serviceIPs) await this.ops.deleteByServiceIP(s.ip, s.protocol, s.port);
    for (const n of flows.nodePorts) await this.ops.deleteByNodePort(n.port, n.protocol, n.family);
    for (const e of flows.endpoints) await this.ops.deleteByEndpoint(e.serviceIP, e.endpointIP, e.protocol);
    for (const e of flows.nodePortEndpoints) await this.ops.deleteByNodePortEndpoint(e.nodePort, e.endpointIP, e.protocol);
    this.logger.debug({ serviceIPs: flows.serviceIPs.length, nodePorts: flows.nodePorts.length, endpoints: flows.endpoints.length }, 'cleared stale conntrack entries');
  }
}
