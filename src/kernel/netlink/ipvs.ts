// An IPVS client in the manner of moby/ipvs, over one generic netlink socket:
//
//   const ipvs = IpvsClient.open();           // NetlinkError ENOENT: no IPVS in this kernel
//   ipvs.newService(svc);
//   ipvs.newDestination(svc, dest);
//   ipvs.batch([{ op: 'newService', service }, ...]);   // many changes, few sends
//   ipvs.close();
//
// All calls are synchronous (see socket.ts) and throw NetlinkError with the
// kernel's errno (EEXIST, ESRCH for a missing service, ENOENT for a missing
// destination...) and its extended ack message.

import { NetlinkEncoder } from './codec.js';
import { NETLINK_GENERIC } from './constants.js';
import { NetlinkDecodeError, type NetlinkError } from './errors.js';
import { resolveFamily } from './genl.js';
import { IPVS_GENL_NAME } from './ipvs-constants.js';
import * as M from './ipvs-messages.js';
import { decodeDestinationMessage, decodeInfo, decodeServiceMessage } from './ipvs-replies.js';
import type { IpvsDestination, IpvsInfo, IpvsService } from './ipvs-types.js';
import { NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

export type * from './ipvs-types.js';

export type IpvsClientOptions = Omit<NetlinkSocketOptions, 'protocol'>;

/** One change of a batch. */
export type IpvsOperation =
  | { readonly op: 'newService' | 'updateService' | 'delService'; readonly service: IpvsService }
  | {
      readonly op: 'newDestination' | 'updateDestination' | 'delDestination';
      readonly service: IpvsService;
      readonly destination: IpvsDestination;
    };

export class IpvsClient {
  private readonly encoder = new NetlinkEncoder(4096);

  private constructor(
    private readonly socket: NetlinkSocket,
    /** The IPVS family's message type, resolved at open. */
    readonly familyId: number,
  ) {}

  /** Opens a socket (in `options.netns` if given) and resolves the IPVS family. */
  static open(options: IpvsClientOptions = {}): IpvsClient {
    const socket = NetlinkSocket.open({ ...options, protocol: NETLINK_GENERIC });
    try {
      return new IpvsClient(socket, resolveFamily(socket, IPVS_GENL_NAME).id);
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  getInfo(): IpvsInfo {
    const [reply] = this.socket.request(M.encodeGetInfo(this.familyId, this.socket.nextSeq()), 'IPVS_CMD_GET_INFO');
    if (reply === undefined) throw new NetlinkDecodeError('IPVS_CMD_GET_INFO acked without a reply', 0);
    return decodeInfo(reply);
  }

  newService(svc: IpvsService): void {
    this.one({ op: 'newService', service: svc });
  }
  updateService(svc: IpvsService): void {
    this.one({ op: 'updateService', service: svc });
  }
  delService(svc: IpvsService): void {
    this.one({ op: 'delService', service: svc });
  }
  newDestination(svc: IpvsService, dest: IpvsDestination): void {
    this.one({ op: 'newDestination', service: svc, destination: dest });
  }
  updateDestination(svc: IpvsService, dest: IpvsDestination): void {
    this.one({ op: 'updateDestination', service: svc, destination: dest });
  }
  delDestination(svc: IpvsService, dest: IpvsDestination): void {
    this.one({ op: 'delDestination', service: svc, destination: dest });
  }

  /** Every virtual service (a dump). */
  getServices(): IpvsService[] {
    const replies = this.socket.request(M.encodeGetServices(this.familyId, this.socket.nextSeq()), 'IPVS_CMD_GET_SERVICE');
    return replies.map((msg) => decodeServiceMessage(msg));
  }

  /** The destinations of one service (a dump), with connection counts and stats. */
  getDestinations(svc: IpvsService): IpvsDestination[] {
    const request = M.encodeGetDestinations(this.familyId, this.socket.nextSeq(), svc);
    const replies = this.socket.request(request, `IPVS_CMD_GET_DEST ${describeService(svc)}`);
    return replies.map((msg) => decodeDestinationMessage(msg, svc.af));
  }

  /** Deletes every service and destination. */
  flush(): void {
    this.socket.request(M.encodeFlush(this.familyId, this.socket.nextSeq()), 'IPVS_CMD_FLUSH');
  }

  /**
   * Applies many changes with few sends; the kernel applies each on its own
   * (one failing does not stop the others). Returns one entry per operation:
   * undefined for success, else its NetlinkError.
   */
  batch(operations: readonly IpvsOperation[]): (NetlinkError | undefined)[] {
    if (operations.length === 0) return [];
    const enc = this.encoder.reset();
    for (const operation of operations) this.write(enc, operation);
    return this.socket.requestBatch(enc.peek(), (i) => describeOperation(operations[i]));
  }

  close(): void {
    this.socket.close();
  }

  private one(operation: IpvsOperation): void {
    const enc = this.encoder.reset();
    this.write(enc, operation);
    this.socket.request(enc.peek(), describeOperation(operation));
  }

  private write(enc: NetlinkEncoder, operation: IpvsOperation): void {
    const seq = this.socket.nextSeq();
    const id = this.familyId;
    switch (operation.op) {
      case 'newService': return M.writeNewService(enc, id, seq, operation.service);
      case 'updateService': return M.writeUpdateService(enc, id, seq, operation.service);
      case 'delService': return M.writeDelService(enc, id, seq, operation.service);
      case 'newDestination': return M.writeNewDestination(enc, id, seq, operation.service, operation.destination);
      case 'updateDestination': return M.writeUpdateDestination(enc, id, seq, operation.service, operation.destination);
      case 'delDestination': return M.writeDelDestination(enc, id, seq, operation.service, operation.destination);
    }
  }
}

const COMMANDS: Record<IpvsOperation['op'], string> = {
  newService: 'IPVS_CMD_NEW_SERVICE',
  updateService: 'IPVS_CMD_SET_SERVICE',
  delService: 'IPVS_CMD_DEL_SERVICE',
  newDestination: 'IPVS_CMD_NEW_DEST',
  updateDestination: 'IPVS_CMD_SET_DEST',
  delDestination: 'IPVS_CMD_DEL_DEST',
};

export function describeService(svc: IpvsService): string {
  if (svc.fwmark) return `fwmark ${svc.fwmark}/${svc.af}`;
  const host = svc.af === 'IPv6' ? `[${svc.address}]` : svc.address;
  return `${svc.protocol} ${host}:${svc.port}`;
}

function describeOperation(operation: IpvsOperation | undefined): string {
  if (operation === undefined) return 'IPVS';
  const base = `${COMMANDS[operation.op]} ${describeService(operation.service)}`;
  if (!('destination' in operation)) return base;
  const d = operation.destination;
  return `${base} -> ${d.address.includes(':') ? `[${d.address}]` : d.address}:${d.port}`;
}
