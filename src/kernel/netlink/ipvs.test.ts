// The IPVS client two ways: against a small in-memory IPVS "kernel" behind
// FakeLibc (the client's plumbing: family resolution, acks, batches, dumps),
// and against this kernel, where /proc/net/ip_vs is the independent oracle:
// without IPVS (this host) opening fails with ENOENT; with IPVS (the test VM)
// services and destinations are programmed for real in a scratch namespace.

import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNetns, deleteNetns } from '../../testbed/netns.js';
import { runChecked } from '../exec.js';
import { NetlinkEncoder, genlAttributes, type NetlinkMessage } from './codec.js';
import { CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, NLM_F_CAPPED, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR } from './constants.js';
import { NetlinkError } from './errors.js';
import { FakeLibc } from './fake-libc.js';
import * as K from './ipvs-constants.js';
import { decodeDestination, decodeService } from './ipvs-replies.js';
import { IpvsClient, type IpvsDestination, type IpvsService } from './ipvs.js';
import { netnsPath } from '../netns.js';

const FAMILY = 0x22;
const svc: IpvsService = { af: 'IPv4', protocol: 'TCP', address: '10.96.0.10', port: 53, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
const dest = (i: number): IpvsDestination => ({ address: `10.244.0.${i}`, port: 5353, forwardMethod: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
const key = (s: IpvsService): string => `${s.protocol} ${s.address}:${s.port}`;

/** A few IPVS commands, answered as ip_vs_ctl.c would (errnos included). */
function fakeIpvsKernel(): FakeLibc {
  const services = new Map<string, { svc: IpvsService; dests: Map<string, IpvsDestination> }>();
  const out = (seq: number, type: number, flags: number, body: (enc: NetlinkEncoder) => void): Uint8Array => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(type, flags, seq, 4242);
    body(enc);
    enc.endMessage(m);
    return enc.finish();
  };
  const ack = (req: NetlinkMessage, errno = 0): Uint8Array =>
    out(req.seq, NLMSG_ERROR, NLM_F_CAPPED, (enc) => {
      enc.putI32(-errno);
      enc.putU32(16);
      enc.putU16(req.type);
      enc.putU16(req.flags);
      enc.putU32(req.seq);
      enc.putU32(0);
    });
  const handle = (req: NetlinkMessage): Uint8Array[] => {
    const ad = genlAttributes(req);
    const cmd = req.data[0];
    if (req.type === GENL_ID_CTRL) {
      while (ad.next()) if (ad.type === CTRL_ATTR_FAMILY_NAME && ad.string() !== 'IPVS') return [ack(req, 2)];
      return [out(req.seq, GENL_ID_CTRL, 0, (enc) => {
        enc.genlHeader(CTRL_CMD_NEWFAMILY, 2);
        enc.u16(CTRL_ATTR_FAMILY_ID, FAMILY);
        enc.string(CTRL_ATTR_FAMILY_NAME, 'IPVS');
      }), ack(req)];
    }
    let s: IpvsService | undefined;
    let d: IpvsDestination | undefined;
    while (ad.next()) {
      if (ad.type === K.IPVS_CMD_ATTR_SERVICE) s = decodeService(ad.nested());
      if (ad.type === K.IPVS_CMD_ATTR_DEST) d = decodeDestination(ad.nested(), s?.af);
    }
    const entry = s ? services.get(key(s)) : undefined;
    switch (cmd) {
      case K.IPVS_CMD_NEW_SERVICE:
        if (entry) return [ack(req, 17)];
        services.set(key(s!), { svc: s!, dests: new Map() });
        return [ack(req)];
      case K.IPVS_CMD_DEL_SERVICE:
        return [ack(req, services.delete(key(s!)) ? 0 : 3)];
      case K.IPVS_CMD_NEW_DEST:
        if (!entry) return [ack(req, 3)];
        if (entry.dests.has(d!.address)) return [ack(req, 17)];
        entry.dests.set(d!.address, { ...d!, activeConnections: 2, inactiveConnections: 1 });
        return [ack(req)];
      case K.IPVS_CMD_GET_SERVICE:
        return [...services.values()].map(({ svc: v }) => out(req.seq, FAMILY, NLM_F_MULTI, (enc) => {
          enc.genlHeader(K.IPVS_CMD_NEW_SERVICE, 1);
          const n = enc.beginNested(K.IPVS_CMD_ATTR_SERVICE);
          enc.u16(K.IPVS_SVC_ATTR_AF, 2);
          enc.u16(K.IPVS_SVC_ATTR_PROTOCOL, 6);
          enc.inetAddr(K.IPVS_SVC_ATTR_ADDR, v.address);
          enc.u16be(K.IPVS_SVC_ATTR_PORT, v.port);
          enc.string(K.IPVS_SVC_ATTR_SCHED_NAME, v.scheduler);
          enc.bytes(K.IPVS_SVC_ATTR_FLAGS, new Uint8Array([K.IP_VS_SVC_F_HASHED, 0, 0, 0, 255, 255, 255, 255]));
          enc.u32(K.IPVS_SVC_ATTR_TIMEOUT, v.timeout);
          enc.u32(K.IPVS_SVC_ATTR_NETMASK, v.netmask);
          enc.endNested(n);
        })).concat(out(req.seq, NLMSG_DONE, NLM_F_MULTI, (enc) => enc.putI32(0)));
      case K.IPVS_CMD_GET_DEST:
        if (!entry) return [ack(req, 3)];
        return [...entry.dests.values()].map((v) => out(req.seq, FAMILY, NLM_F_MULTI, (enc) => {
          enc.genlHeader(K.IPVS_CMD_NEW_DEST, 1);
          const n = enc.beginNested(K.IPVS_CMD_ATTR_DEST);
          enc.inetAddr(K.IPVS_DEST_ATTR_ADDR, v.address);
          enc.u16be(K.IPVS_DEST_ATTR_PORT, v.port);
          enc.u32(K.IPVS_DEST_ATTR_FWD_METHOD, 0);
          enc.u32(K.IPVS_DEST_ATTR_WEIGHT, v.weight);
          enc.u32(K.IPVS_DEST_ATTR_ACTIVE_CONNS, v.activeConnections ?? 0);
          enc.u32(K.IPVS_DEST_ATTR_INACT_CONNS, v.inactiveConnections ?? 0);
          enc.endNested(n);
        })).concat(out(req.seq, NLMSG_DONE, NLM_F_MULTI, (enc) => enc.putI32(0)));
      case K.IPVS_CMD_GET_INFO:
        return [out(req.seq, FAMILY, 0, (enc) => {
          enc.genlHeader(K.IPVS_CMD_SET_INFO, 1);
          enc.u32(K.IPVS_INFO_ATTR_VERSION, 0x010201);
          enc.u32(K.IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
        }), ack(req)];
      case K.IPVS_CMD_FLUSH:
        services.clear();
        return [ack(req)];
      default:
        return [ack(req, 95)];
    }
  };
  return new FakeLibc((msgs) => msgs.flatMap(handle));
}

describe('IpvsClient over a fake IPVS kernel', () => {
  it('resolves the family, programs, lists and flushes', () => {
    const libc = fakeIpvsKernel();
    const ipvs = IpvsClient.open({ libc });
    expect(ipvs.familyId).toBe(FAMILY);
    expect(ipvs.getInfo()).toEqual({ version: '1.2.1', versionCode: 0x010201, connTableSize: 4096 });
    ipvs.newService(svc);
    expect(() => ipvs.newService(svc)).toThrow(expect.objectContaining({ errnoName: 'EEXIST', operation: 'IPVS_CMD_NEW_SERVICE TCP 10.96.0.10:53' }));
    ipvs.newDestination(svc, dest(1));
    expect(ipvs.getServices()).toEqual([{ ...svc, flags: K.IP_VS_SVC_F_HASHED }]);
    expect(ipvs.getDestinations(svc)).toEqual([{ ...dest(1), af: 'IPv4', activeConnections: 2, inactiveConnections: 1 }]);
    ipvs.flush();
    expect(ipvs.getServices()).toEqual([]);
    expect(() => ipvs.delService(svc)).toThrow(expect.objectContaining({ errnoName: 'ESRCH' }));
    ipvs.close();
  });

  it('applies a batch in few sends and reports each failure at its operation', () => {
    const libc = fakeIpvsKernel();
    const ipvs = IpvsClient.open({ libc, maxBatchMessages: 100 });
    const sendsBefore = libc.sent.length;
    const other = { ...svc, port: 54 };
    const results = ipvs.batch([
      { op: 'newService', service: svc },
      ...Array.from({ length: 150 }, (_, i) => ({ op: 'newDestination' as const, service: svc, destination: dest(i) })),
      { op: 'newDestination', service: other, destination: dest(1) }, // no such service: ESRCH
      { op: 'newService', service: svc }, // EEXIST
    ]);
    expect(libc.sent.length - sendsBefore).toBe(2);
    expect(results).toHaveLength(153);
    expect(results.flatMap((r, i) => (r ? [[i, r.errnoName, r.operation]] : []))).toEqual([
      [151, 'ESRCH', 'IPVS_CMD_NEW_DEST TCP 10.96.0.10:54 -> 10.244.0.1:5353'],
      [152, 'EEXIST', 'IPVS_CMD_NEW_SERVICE TCP 10.96.0.10:53'],
    ]);
    expect(ipvs.getDestinations(svc)).toHaveLength(150);
    expect(ipvs.batch([])).toEqual([]);
  });
});

describe('IpvsClient on this kernel', () => {
  const ns = `svcp-ipvs-${randomBytes(3).toString('hex')}`;
  beforeAll(() => addNetns(ns));
  afterAll(() => deleteNetns(ns));

  const procIpvs = async (): Promise<string> => (await runChecked('cat', ['/proc/net/ip_vs'], { netns: ns })).stdout;

  it('fails with ENOENT exactly when the kernel has no IPVS, else programs it for real', async () => {
    let ipvs: IpvsClient | undefined;
    let failure: unknown;
    try {
      ipvs = IpvsClient.open({ netns: netnsPath(ns) });
    } catch (err) {
      failure = err;
    }
    if (!existsSync('/proc/net/ip_vs')) {
      // No IPVS registered (not even autoloaded by the lookup): what the agent's probe sees here.
      expect(failure).toBeInstanceOf(NetlinkError);
      expect(failure).toMatchObject({ code: 'SVCPLANE_NETLINK_ERRNO', errnoName: 'ENOENT', operation: 'CTRL_CMD_GETFAMILY IPVS' });
      return;
    }
    expect(failure).toBeUndefined();
    try {
      ipvs!.flush();
      ipvs!.newService(svc);
      ipvs!.newDestination(svc, dest(1));
      ipvs!.batch([2, 3].map((i) => ({ op: 'newDestination' as const, service: svc, destination: dest(i) })));
      const table = await procIpvs();
      expect(table).toMatch(/TCP\s+0A60000A:0035 rr/);
      expect(table).toMatch(/->\s+0AF40002:14E9\s+Masq\s+1/);
      expect(ipvs!.getServices()).toEqual([expect.objectContaining({ ...svc, flags: expect.any(Number) })]);
      expect(ipvs!.getDestinations(svc).map((d) => d.address).sort()).toEqual(['10.244.0.1', '10.244.0.2', '10.244.0.3']);
      ipvs!.updateDestination(svc, { ...dest(1), weight: 5 });
      expect(ipvs!.getDestinations(svc).find((d) => d.address === '10.244.0.1')?.weight).toBe(5);
      ipvs!.delDestination(svc, dest(2));
      expect(ipvs!.getDestinations(svc)).toHaveLength(2);
      expect(() => ipvs!.newService(svc)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
      ipvs!.delService(svc);
      expect(() => ipvs!.delService(svc)).toThrow(expect.objectContaining({ errnoName: 'ESRCH' }));
      expect(ipvs!.getInfo().version).toMatch(/^\d+\.\d+\.\d+$/);
    } finally {
      ipvs!.close();
    }
  });
});
