// Route netlink for the IPVS mode: a dummy link that holds the service
// addresses (kube-proxy's kube-ipvs0), and those addresses. Synchronous, like
// the socket (see socket.ts); failures are NetlinkError with the kernel's
// errno: EEXIST (link or address exists), ENODEV (no such link),
// EADDRNOTAVAIL (no such address), EOPNOTSUPP "Unknown device type" (no driver).

import type { IPFamily } from '../../model/types.js';
import { NetlinkEncoder } from './codec.js';
import { NETLINK_ROUTE } from './constants.js';
import { NetlinkDecodeError, type NetlinkError } from './errors.js';
import { RTM_NEWADDR } from './rtnetlink-constants.js';
import * as M from './rtnetlink-messages.js';
import { NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

export type { AddressInfo, LinkInfo } from './rtnetlink-messages.js';

export type RtnetlinkClientOptions = Omit<NetlinkSocketOptions, 'protocol'>;

/** An address to add or delete; the prefix defaults to the host prefix (32 or 128). */
export interface AddressSpec {
  readonly address: string;
  readonly prefixLength?: number;
}

export class RtnetlinkClient {
  private readonly encoder = new NetlinkEncoder(4096);

  private constructor(private readonly socket: NetlinkSocket) {}

  /** Opens a route netlink socket (in `options.netns` if given). */
  static open(options: RtnetlinkClientOptions = {}): RtnetlinkClient {
    return new RtnetlinkClient(NetlinkSocket.open({ ...options, protocol: NETLINK_ROUTE }));
  }

  /** Creates a link of a driver kind ("dummy", "bridge"...); EEXIST when the name is taken. */
  createLink(name: string, kind: string): void {
    this.socket.request(M.encodeNewLink(this.socket.nextSeq(), name, kind), `RTM_NEWLINK ${name} type ${kind}`);
  }

  createDummy(name: string): void {
    this.createLink(name, 'dummy');
  }

  /** The link called `name`; NetlinkError ENODEV when there is none. */
  getLink(name: string): M.LinkInfo {
    const [reply] = this.socket.request(M.encodeGetLink(this.socket.nextSeq(), name), `RTM_GETLINK ${name}`);
    if (reply === undefined) throw new NetlinkDecodeError(`RTM_GETLINK ${name} acked without a reply`, 0);
    return M.decodeLink(reply);
  }

  getLinkIndex(name: string): number {
    return this.getLink(name).index;
  }

  setLinkUp(index: number, up = true): void {
    this.socket.request(M.encodeSetLinkUp(this.socket.nextSeq(), index, up), `RTM_NEWLINK ${index} ${up ? 'up' : 'down'}`);
  }

  deleteLink(index: number): void {
    this.socket.request(M.encodeDelLink(this.socket.nextSeq(), index), `RTM_DELLINK ${index}`);
  }

  addAddress(index: number, address: string, prefixLength?: number): void {
    this.one(true, index, { address, ...(prefixLength !== undefined ? { prefixLength } : {}) });
  }

  deleteAddress(index: number, address: string, prefixLength?: number): void {
    this.one(false, index, { address, ...(prefixLength !== undefined ? { prefixLength } : {}) });
  }

  /** Adds many addresses with few sends; one entry per address: undefined or its NetlinkError. */
  addAddresses(index: number, addresses: readonly AddressSpec[]): (NetlinkError | undefined)[] {
    return this.many(true, index, addresses);
  }

  deleteAddresses(index: number, addresses: readonly AddressSpec[]): (NetlinkError | undefined)[] {
    return this.many(false, index, addresses);
  }

  /** The addresses of one link (or of all with undefined), of one family or both (a dump). */
  listAddresses(index?: number, family?: IPFamily): M.AddressInfo[] {
    const replies = this.socket.request(M.encodeGetAddresses(this.socket.nextSeq(), family), 'RTM_GETADDR');
    const out: M.AddressInfo[] = [];
    for (const msg of replies) {
      if (msg.type !== RTM_NEWADDR) continue;
      const info = M.decodeAddress(msg);
      if (index === undefined || info.index === index) out.push(info);
    }
    return out;
  }

  close(): void {
    this.socket.close();
  }

  private one(add: boolean, index: number, spec: AddressSpec): void {
    const enc = this.encoder.reset();
    M.writeAddress(enc, this.socket.nextSeq(), add, index, spec.address, spec.prefixLength);
    this.socket.request(enc.peek(), describe(add, index, spec));
  }

  private many(add: boolean, index: number, specs: readonly AddressSpec[]): (NetlinkError | undefined)[] {
    if (specs.length === 0) return [];
    const enc = this.encoder.reset();
    for (const spec of specs) M.writeAddress(enc, this.socket.nextSeq(), add, index, spec.address, spec.prefixLength);
    return this.socket.requestBatch(enc.peek(), (i) => {
      const spec = specs[i];
      return spec ? describe(add, index, spec) : 'RTM_NEWADDR';
    });
  }
}

function describe(add: boolean, index: number, spec: AddressSpec): string {
  return `${add ? 'RTM_NEWADDR' : 'RTM_DELADDR'} ${spec.address}${spec.prefixLength !== undefined ? `/${spec.prefixLength}` : ''} dev ${index}`;
}
