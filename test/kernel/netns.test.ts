// The one netns helper, for real: the thread enters a namespace the test made
// (and sees its interface), a fresh one, and always comes back home.
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyscallError } from '../../src/kernel/errors.js';
import { systemLibc } from '../../src/kernel/libc.js';
import { inFreshNetns, inNetns, netnsPath } from '../../src/kernel/netns.js';
import { addNetns, deleteNetns, ipIn } from '../../src/testbed/netns.js';

const NS = `svcp-errors-netns-${process.pid}`;
/** One end of a veth pair made inside the test namespace (the kernel may lack the dummy driver). */
const DUMMY = 'sperr-veth0';
const here = (): string => readlinkSync('/proc/thread-self/ns/net');

describe('inNetns / inFreshNetns', () => {
  beforeAll(async () => {
    await addNetns(NS);
    await ipIn(NS, ['link', 'add', DUMMY, 'type', 'veth', 'peer', 'name', 'sperr-peer0']);
  });
  afterAll(() => deleteNetns(NS));

  it('runs fn inside the named namespace (its interfaces are visible) and returns home', () => {
    const libc = systemLibc();
    const home = here();
    const inside = inNetns(libc, netnsPath(NS), () => ({ ns: here(), index: libc.ifNametoindex(DUMMY) }));
    expect(inside.ns).not.toBe(home);
    expect(inside.index).toBeGreaterThan(0);
    expect(here()).toBe(home);
    expect(libc.ifNametoindex(DUMMY)).toBe(0); // not in the host's namespace
  });

  it('returns home when fn throws', () => {
    const home = here();
    expect(() => inNetns(systemLibc(), netnsPath(NS), () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(here()).toBe(home);
  });

  it('gives fn a fresh, empty namespace', () => {
    const libc = systemLibc();
    const home = here();
    const fresh = inFreshNetns(libc, () => ({ ns: here(), lo: libc.ifNametoindex('lo'), dummy: libc.ifNametoindex(DUMMY) }));
    expect(fresh.ns).not.toBe(home);
    expect(fresh.lo).toBeGreaterThan(0);
    expect(fresh.dummy).toBe(0);
    expect(here()).toBe(home);
  });

  it('fails with ENOENT for a namespace that does not exist, without moving the thread', () => {
    const home = here();
    let caught: unknown;
    try {
      inNetns(systemLibc(), netnsPath(`svcp-errors-missing-${process.pid}`), () => 1);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyscallError);
    expect(caught).toMatchObject({ code: 'SVCPLANE_SYSCALL', errnoName: 'ENOENT' });
    expect(here()).toBe(home);
  });
});
