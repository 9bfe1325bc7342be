// Deletes stale conntrack entries, as kube-proxy does for UDP (and SCTP) services:
// without it, a client that keeps its source port keeps hitting the old
// destination (a black hole, or a removed endpoint) until the entry times out.

import { isIP } from 'node:net';
import type { IPFamily, Protocol } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';
import { CommandError, runCommand, type CommandRunner } from './exec.js';

export interface ConntrackOptions {
  /** Work on the conntrack table of this network namespace instead of the host's. */
  readonly netns?: string;
  /** Replaces runCommand (unit tests). */
  readonly run?: CommandRunner;
}

export class ConntrackFilterError extends SvcplaneError {
  override readonly code = 'SVCPLANE_CONNTRACK_INVALID_FILTER';
}

/** conntrack exits 1 when the filter matched nothing; that is success for a delete. */
const NOTHING_DELETED = /\b0 flow entries have been deleted/;
const DELETED_COUNT = /(\d+) flow entries have been deleted/;

export class Conntrack {
  readonly netns: string | undefined;
  private readonly run: CommandRunner;

  constructor(opts: ConntrackOptions = {}) {
    this.netns = opts.netns;
    this.run = opts.run ?? runCommand;
  }

  /**
   * Entries whose original destination is a service IP (cluster, external or
   * load-balancer IP), e.g. after the service went from no endpoints to some:
   * `conntrack -D --orig-dst <ip> -p udp [--dport <port>]`. Returns the count deleted.
   */
  async deleteByServiceIP(serviceIP: string, protocol: Protocol, port?: number): Promise<number> {
    const family = familyOf(serviceIP, 'service IP');
    const args = ['--orig-dst', serviceIP, '-p', protocolName(protocol)];
    if (port !== undefined) args.push('--dport', portString(port, 'port'));
    return this.delete(family, args);
  }

  /** Entries to a NodePort on any local address: `conntrack -D -p udp --dport <nodePort>`. */
  async deleteByNodePort(nodePort: number, protocol: Protocol, family: IPFamily): Promise<number> {
    return this.delete(family, ['-p', protocolName(protocol), '--dport', portString(nodePort, 'node port')]);
  }

  /**
   * Entries from a service IP to an endpoint that went away:
   * `conntrack -D --orig-dst <serviceIP> --dst-nat <endpointIP> -p udp`.
   */
  async deleteByEndpoint(serviceIP: string, endpointIP: string, protocol: Protocol): Promise<number> {
    const family = familyOf(serviceIP, 'service IP');
    if (familyOf(endpointIP, 'endpoint IP') !== family) {
      throw new ConntrackFilterError(`service IP ${serviceIP} and endpoint IP ${endpointIP} are of different families`);
    }
    return this.delete(family, ['--orig-dst', serviceIP, '--dst-nat', endpointIP, '-p', protocolName(protocol)]);
  }

  /**
   * Entries from a NodePort to an endpoint that went away:
   * `conntrack -D -p udp --dport <nodePort> --dst-nat <endpointIP>`.
   */
  async deleteByNodePortEndpoint(nodePort: number, endpointIP: string, protocol: Protocol): Promise<number> {
    const family = familyOf(endpointIP, 'endpoint IP');
    return this.delete(family, ['-p', protocolName(protocol), '--dport', portString(nodePort, 'node port'), '--dst-nat', endpointIP]);
  }

  private async delete(family: IPFamily, filter: readonly string[]): Promise<number> {
    const args = ['-D', ...filter, ...(family === 'IPv6' ? ['-f', 'ipv6'] : [])];
    const result = await this.run('conntrack', args, { netns: this.netns });
    if (result.code === 1 && NOTHING_DELETED.test(result.stderr)) return 0;
    if (result.code !== 0) throw new CommandError('conntrack', args, result.code, result.stderr, this.netns);
    const m = DELETED_COUNT.exec(result.stderr) ?? DELETED_COUNT.exec(result.stdout);
    return m?.[1] === undefined ? 0 : Number(m[1]);
  }
}

function familyOf(ip: string, what: string): IPFamily {
  switch (isIP(ip)) {
    case 4:
      return 'IPv4';
    case 6:
      return 'IPv6';
    default:
      throw new ConntrackFilterError(`${what} ${JSON.stringify(ip)} is not an IP address`);
  }
}

function portString(port: number, what: string): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConntrackFilterError(`${what} ${port} is not a port number (1-65535)`);
  }
  return String(port);
}

function protocolName(protocol: Protocol): string {
  return protocol.toLowerCase();
}
