// Real route netlink in a scratch network namespace: the socket is opened
// inside it (setns), addresses go on its lo, and iproute2 is the oracle.
// Link creation is compared with what `ip link add` can do on this kernel:
// this host has no dummy driver (EOPNOTSUPP), the IPVS test VM has one.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../exec.js';
import { addNetns, deleteNetns, ipIn } from '../../testbed/netns.js';
import { NetlinkError } from './errors.js';
import { netnsPath } from '../netns.js';
import { IFF_UP } from './rtnetlink-constants.js';
import { RtnetlinkClient } from './rtnetlink.js';

const NS = `svcp-nl-${randomBytes(3).toString('hex')}`;
let client: RtnetlinkClient;

function caught(fn: () => unknown): NetlinkError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NetlinkError) return err;
    throw err;
  }
  throw new Error('expected a NetlinkError');
}

async function ipAddresses(dev: string): Promise<string> {
  return (await ipIn(NS, ['-o', 'addr', 'show', 'dev', dev])).stdout;
}

/** Whether iproute2 can create a link of this kind here (the oracle). */
async function kernelHasKind(kind: string): Promise<boolean> {
  const probe = await runCommand('ip', ['-n', NS, 'link', 'add', 'svcp-probe', 'type', kind]);
  if (probe.code !== 0) return false;
  await ipIn(NS, ['link', 'del', 'svcp-probe']);
  return true;
}

beforeAll(async () => {
  await addNetns(NS);
  client = RtnetlinkClient.open({ netns: netnsPath(NS), timeoutMs: 5000 });
});

afterAll(async () => {
  client?.close();
  await deleteNetns(NS);
});

describe('RtnetlinkClient in a scratch namespace', () => {
  it('finds lo, up, at index 1', () => {
    const lo = client.getLink('lo');
    expect(lo).toMatchObject({ index: 1, name: 'lo' });
    expect(lo.flags & IFF_UP).toBe(IFF_UP);
    expect(client.getLinkIndex('lo')).toBe(1);
    expect(caught(() => client.getLink('svcp-none0')).errnoName).toBe('ENODEV');
  });

  it('adds, lists and deletes IPv4 and IPv6 host addresses on lo, inside the namespace only', async () => {
    client.addAddress(1, '192.0.2.10');
    client.addAddress(1, '2001:db8::10');
    expect(await ipAddresses('lo')).toMatch(/inet 192\.0\.2\.10\/32 /);
    expect(await ipAddresses('lo')).toMatch(/inet6 2001:db8::10\/128 /);
    // The host's lo is untouched: the socket lives in the namespace.
    expect((await runCommand('ip', ['-o', 'addr', 'show', 'dev', 'lo'])).stdout).not.toContain('192.0.2.10');

    const listed = client.listAddresses(1);
    expect(listed).toContainEqual(expect.objectContaining({ family: 'IPv4', address: '192.0.2.10', prefixLength: 32, index: 1 }));
    expect(listed).toContainEqual(expect.objectContaining({ family: 'IPv6', address: '2001:db8::10', prefixLength: 128 }));
    expect(listed).toContainEqual(expect.objectContaining({ address: '127.0.0.1', prefixLength: 8 }));
    expect(client.listAddresses(1, 'IPv6').every((a) => a.family === 'IPv6')).toBe(true);

    const again = caught(() => client.addAddress(1, '192.0.2.10'));
    expect(again).toMatchObject({ code: 'SVCPLANE_NETLINK_ERRNO', errnoName: 'EEXIST' });
    expect(again.operation).toContain('192.0.2.10');

    client.deleteAddress(1, '192.0.2.10');
    client.deleteAddress(1, '2001:db8::10');
    expect(await ipAddresses('lo')).not.toContain('192.0.2.10');
    expect(await ipAddresses('lo')).not.toContain('2001:db8::10');
    expect(caught(() => client.deleteAddress(1, '192.0.2.10')).errnoName).toBe('EADDRNOTAVAIL');
  });

  it('adds 600 addresses in batches, reporting the one that already exists', async () => {
    client.addAddress(1, '198.51.100.7');
    const specs = Array.from({ length: 600 }, (_, i) => ({ address: `198.51.${100 + (i >> 8)}.${i & 0xff}` }));
    const results = client.addAddresses(1, specs);
    expect(results).toHaveLength(600);
    const failed = results.flatMap((r, i) => (r ? [[specs[i]?.address, r.errnoName]] : []));
    expect(failed).toEqual([['198.51.100.7', 'EEXIST']]);
    const lines = (await ipAddresses('lo')).split('\n').filter((l) => / inet 198\.51\./.test(l));
    expect(lines).toHaveLength(600);
    expect(client.listAddresses(1, 'IPv4').filter((a) => a.address.startsWith('198.51.'))).toHaveLength(600);

    expect(client.deleteAddresses(1, specs).every((r) => r === undefined)).toBe(true);
    expect(await ipAddresses('lo')).not.toContain('198.51.');
  });

  for (const kind of ['dummy', 'bridge']) {
    it(`creates a ${kind} link exactly when iproute2 can`, async () => {
      const name = `svcp-${kind}0`;
      if (!(await kernelHasKind(kind))) {
        const err = caught(() => client.createLink(name, kind));
        expect(err.errnoName).toBe('EOPNOTSUPP');
        expect(err.extackMessage).toMatch(/Unknown device type/);
        return;
      }
      client.createLink(name, kind);
      const link = client.getLink(name);
      expect(link.kind).toBe(kind);
      expect(caught(() => client.createLink(name, kind)).errnoName).toBe('EEXIST');
      client.setLinkUp(link.index);
      expect(client.getLink(name).flags & IFF_UP).toBe(IFF_UP);
      client.addAddress(link.index, '203.0.113.1');
      expect(await ipAddresses(name)).toMatch(/inet 203\.0\.113\.1\/32 /);
      client.setLinkUp(link.index, false);
      expect(client.getLink(name).flags & IFF_UP).toBe(0);
      client.deleteLink(link.index);
      expect(caught(() => client.getLinkIndex(name)).errnoName).toBe('ENODEV');
    });
  }
});
