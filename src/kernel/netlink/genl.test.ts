import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IPVS_PROC_FILE } from '../../../test/lib/ipvs-kernel.js';
import { parseMessages } from './codec.js';
import { NetlinkEncoder } from './encoder.js';
import { NETLINK_GENERIC, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS, CTRL_ATTR_VERSION } from './constants.js';
import { NetlinkDecodeError, NetlinkError } from './errors.js';
import { decodeFamily, encodeGetFamily, resolveFamily } from './genl.js';
import { NetlinkSocket } from './socket.js';

describe('encodeGetFamily', () => {
  it('builds CTRL_CMD_GETFAMILY for a name (bytes from struct nlmsghdr + genlmsghdr + nlattr)', () => {
    // nlmsghdr: len 32, type GENL_ID_CTRL 0x10, flags REQUEST|ACK 0x5, seq 7, pid 0
    // genlmsghdr: cmd CTRL_CMD_GETFAMILY 3, version 1, reserved 0
    // nlattr: len 4+7 = 11, type CTRL_ATTR_FAMILY_NAME 2, "nlctrl\0", 1 byte of padding
    expect(Buffer.from(encodeGetFamily(7, 'nlctrl')).toString('hex')).toBe(
      '20000000' + '1000' + '0500' + '07000000' + '00000000' +
        '03010000' +
        '0b00' + '0200' + Buffer.from('nlctrl\0').toString('hex') + '00',
    );
  });

  it('refuses names the kernel cannot hold (GENL_NAMSIZ 16 with the NUL)', () => {
    expect(() => encodeGetFamily(1, 'x'.repeat(16))).toThrow(/family name/);
    expect(() => encodeGetFamily(1, '')).toThrow(/family name/);
  });
});

describe('decodeFamily', () => {
  it('reads id, name, version and multicast groups', () => {
    const enc = new NetlinkEncoder();
    const msg = enc.beginMessage(0x10, 0, 1);
    enc.genlHeader(1, 2);
    enc.u16(CTRL_ATTR_FAMILY_ID, 0x1c);
    enc.string(CTRL_ATTR_FAMILY_NAME, 'IPVS');
    enc.u32(CTRL_ATTR_VERSION, 1);
    const groups = enc.beginNested(CTRL_ATTR_MCAST_GROUPS);
    const g1 = enc.beginNested(1);
    enc.string(1, 'events');
    enc.u32(2, 9);
    enc.endNested(g1);
    enc.endNested(groups);
    enc.endMessage(msg);
    const [parsed] = parseMessages(enc.finish());
    const family = decodeFamily(parsed!);
    expect(family).toMatchObject({ id: 0x1c, name: 'IPVS', version: 1 });
    expect([...family.multicastGroups]).toEqual([['events', 9]]);
  });

  it('requires CTRL_ATTR_FAMILY_ID', () => {
    const enc = new NetlinkEncoder();
    const msg = enc.beginMessage(0x10, 0, 1);
    enc.genlHeader(1, 2);
    enc.string(CTRL_ATTR_FAMILY_NAME, 'IPVS');
    enc.endMessage(msg);
    expect(() => decodeFamily(parseMessages(enc.finish())[0]!)).toThrow(NetlinkDecodeError);
  });
});

describe('resolveFamily on this kernel', () => {
  it('resolves nlctrl to GENL_ID_CTRL', () => {
    const socket = NetlinkSocket.open({ protocol: NETLINK_GENERIC });
    try {
      const family = resolveFamily(socket, 'nlctrl');
      expect(family.id).toBe(0x10);
      expect(family.name).toBe('nlctrl');
      expect(family.version).toBeGreaterThanOrEqual(1);
      expect(family.multicastGroups.get('notify')).toBeGreaterThan(0);
    } finally {
      socket.close();
    }
  });

  it('resolves IPVS where the kernel has it, and fails with ENOENT where it does not (what the agent probe sees)', () => {
    const socket = NetlinkSocket.open({ protocol: NETLINK_GENERIC });
    try {
      let family: ReturnType<typeof resolveFamily> | undefined;
      let caught: unknown;
      try {
        family = resolveFamily(socket, 'IPVS');
      } catch (err) {
        caught = err;
      }
      // Checked after the lookup, which autoloads ip_vs where it exists; only the module makes this file.
      if (existsSync(IPVS_PROC_FILE)) {
        expect(caught).toBeUndefined();
        expect(family).toMatchObject({ name: 'IPVS', version: expect.any(Number) });
        expect(family?.id).toBeGreaterThan(0x10); // dynamic ids follow GENL_ID_CTRL
      } else {
        expect(caught).toBeInstanceOf(NetlinkError);
        expect(caught).toMatchObject({ code: 'SVCPLANE_NETLINK_ERRNO', errno: 2, errnoName: 'ENOENT' });
      }
      // The socket is still usable after either answer.
      expect(resolveFamily(socket, 'nlctrl').id).toBe(0x10);
    } finally {
      socket.close();
    }
  });
});
