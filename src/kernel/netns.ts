// Runs a synchronous function with the calling thread inside another network
// namespace, then moves the thread back (as vishvananda/netns does for
// netlink.NewHandleAt). A socket keeps the namespace it was created in, so a
// netlink socket opened this way programs that namespace for its whole life;
// tc hooks are netlink requests made by libbpf, so they act where the thread is.

import { closeSync, openSync } from 'node:fs';
import { SyscallError, fsErrno } from './errors.js';
import type { Libc } from './libc.js';

const CLONE_NEWNET = 0x40000000;
const EINVAL = 22;

/** Where `ip netns add NAME` puts its namespace files. */
export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new SyscallError(EINVAL, 'netns', `invalid network namespace name: ${JSON.stringify(name)}`);
  }
  return `/var/run/netns/${name}`;
}

/** Calls fn inside the namespace at `path` (/run/netns/NAME, /proc/PID/ns/net). */
export function inNetns<T>(libc: Pick<Libc, 'setns' | 'errno'>, path: string, fn: () => T): T {
  return fromHome(libc, () => {
    const target = openNamespace(path);
    try {
      if (libc.setns(target, CLONE_NEWNET) !== 0) throw new SyscallError(libc.errno(), `setns ${path}`);
    } finally {
      closeSync(target);
    }
  }, fn);
}

/** Calls fn inside a new, empty network namespace (just a down `lo`), gone once fn returns. */
export function inFreshNetns<T>(libc: Pick<Libc, 'setns' | 'unshare' | 'errno'>, fn: () => T): T {
  return fromHome(libc, () => {
    if (libc.unshare(CLONE_NEWNET) !== 0) throw new SyscallError(libc.errno(), 'unshare CLONE_NEWNET');
  }, fn);
}

function fromHome<T>(libc: Pick<Libc, 'setns' | 'errno'>, enter: () => void, fn: () => T): T {
  // /proc/thread-self: setns and unshare move this thread, not the process.
  const home = openNamespace('/proc/thread-self/ns/net');
  try {
    enter();
    try {
      return fn();
    } finally {
      if (libc.setns(home, CLONE_NEWNET) !== 0) {
        // The thread would go on in the wrong namespace: nothing safe remains.
        throw new SyscallError(libc.errno(), 'setns back to the original network namespace');
      }
    }
  } finally {
    closeSync(home);
  }
}

function openNamespace(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new SyscallError(fsErrno(err), `open network namespace ${path}`);
  }
}
