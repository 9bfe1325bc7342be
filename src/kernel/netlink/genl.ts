// Generic netlink family resolution: CTRL_CMD_GETFAMILY to the "nlctrl"
// controller turns a family name ("IPVS") into the message type to use.
// Without the family in the kernel (IPVS not loaded), the controller answers
// ENOENT, which is exactly what a probe for IPVS support sees.

import { NetlinkEncoder, genlAttributes, type NetlinkMessage } from './codec.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  GENL_ID_CTRL,
  GENL_NAMSIZ,
  NLM_F_ACK,
  NLM_F_REQUEST,
} from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import type { NetlinkSocket } from './socket.js';

/** The controller's own version for requests (libnl and mdlayher/genetlink send 1). */
const CTRL_VERSION = 1;

export interface GenlFamily {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  readonly headerSize: number;
  readonly maxAttribute: number;
  /** Multicast group name to id. */
  readonly multicastGroups: ReadonlyMap<string, number>;
}

/** CTRL_CMD_GETFAMILY with CTRL_ATTR_FAMILY_NAME, acked. */
export function encodeGetFamily(seq: number, name: string, encoder = new NetlinkEncoder(64)): Uint8Array {
  if (name.length === 0 || name.length >= GENL_NAMSIZ) {
    throw new NetlinkEncodeError(`generic netlink family name must be 1-${GENL_NAMSIZ - 1} bytes: ${JSON.stringify(name)}`);
  }
  encoder.reset();
  const msg = encoder.beginMessage(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq);
  encoder.genlHeader(CTRL_CMD_GETFAMILY, CTRL_VERSION);
  encoder.string(CTRL_ATTR_FAMILY_NAME, name);
  encoder.endMessage(msg);
  return encoder.finish();
}

/** Decodes the controller's CTRL_CMD_NEWFAMILY reply. */
export function decodeFamily(msg: NetlinkMessage): GenlFamily {
  const ad = genlAttributes(msg);
  let id: number | undefined;
  let name = '';
  let version = 0;
  let headerSize = 0;
  let maxAttribute = 0;
  const multicastGroups = new Map<string, number>();
  while (ad.next()) {
    switch (ad.type) {
      case CTRL_ATTR_FAMILY_ID:
        id = ad.u16();
        break;
      case CTRL_ATTR_FAMILY_NAME:
        name = ad.string();
        break;
      case CTRL_ATTR_VERSION:
        version = ad.u32();
        break;
      case CTRL_ATTR_HDRSIZE:
        headerSize = ad.u32();
        break;
      case CTRL_ATTR_MAXATTR:
        maxAttribute = ad.u32();
        break;
      case CTRL_ATTR_MCAST_GROUPS: {
        // An array: each element is a nest (typed by its index) of name and id.
        const groups = ad.nested();
        while (groups.next()) {
          const group = groups.nested();
          let groupName: string | undefined;
          let groupId: number | undefined;
          while (group.next()) {
            if (group.type === CTRL_ATTR_MCAST_GRP_NAME) groupName = group.string();
            else if (group.type === CTRL_ATTR_MCAST_GRP_ID) groupId = group.u32();
          }
          if (groupName !== undefined && groupId !== undefined) multicastGroups.set(groupName, groupId);
        }
        break;
      }
      default:
        break; // CTRL_ATTR_OPS, policies: not needed
    }
  }
  if (id === undefined) throw new NetlinkDecodeError('family reply without CTRL_ATTR_FAMILY_ID', msg.offset);
  return { id, name, version, headerSize, maxAttribute, multicastGroups };
}

/** Resolves a family by name; throws NetlinkError (errno ENOENT) when the kernel has none. */
export function resolveFamily(socket: NetlinkSocket, name: string): GenlFamily {
  const replies = socket.request(encodeGetFamily(socket.nextSeq(), name), `CTRL_CMD_GETFAMILY ${name}`);
  const reply = replies[0];
  if (reply === undefined) throw new NetlinkDecodeError(`no reply to CTRL_CMD_GETFAMILY ${name}`, 0);
  return decodeFamily(reply);
}
