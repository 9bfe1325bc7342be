// Runs a function with the calling thread inside another network namespace,
// then moves the thread back (as vishvananda/netns does for netlink.NewHandleAt).
// A socket keeps the namespace it was created in, so opening a netlink socket
// this way programs that namespace for the socket's whole life.

import { closeSync, openSync } from 'node:fs';
import { CLONE_NEWNET } from './constants.js';
import { NetlinkError } from './errors.js';
import type { Libc } from './libc.js';

/** Where `ip netns add NAME` puts its namespace files. */
export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new NetlinkError(22, { operation: 'netns' }, `invalid network namespace name: ${JSON.stringify(name)}`);
  }
  return `/var/run/netns/${name}`;
}

/**
 * Calls `fn` with this thread in the namespace at `path` (a file such as
 * /var/run/netns/NAME or /proc/PID/ns/net). `fn` must be synchronous: the
 * thread is moved back before this returns.
 */
export function inNetns<T>(libc: Libc, path: string, fn: () => T): T {
  // /proc/thread-self: setns moves the thread, not the process.
  const home = openNamespace('/proc/thread-self/ns/net');
  try {
    const target = openNamespace(path);
    try {
      if (libc.setns(target, CLONE_NEWNET) !== 0) {
        throw new NetlinkError(libc.errno(), { operation: `setns ${path}` });
      }
    } finally {
      closeSync(target);
    }
    try {
      return fn();
    } finally {
      if (libc.setns(home, CLONE_NEWNET) !== 0) {
        // The thread would go on in the wrong namespace: nothing safe remains.
        throw new NetlinkError(libc.errno(), { operation: 'setns back to the original namespace' });
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
    const errno = typeof (err as NodeJS.ErrnoException).errno === 'number' ? -((err as NodeJS.ErrnoException).errno ?? 0) : 2;
    throw new NetlinkError(errno, { operation: `open network namespace ${path}` }, undefined);
  }
}
