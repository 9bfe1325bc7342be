// Runs a synchronous function with the calling thread in another network
// namespace (tc hooks are netlink requests: they act in the caller's namespace),
// then moves the thread back. Same idea as ../netlink/netns.ts, over Libbpf's
// own libc bindings, plus a fresh namespace for the capability probe.

import { closeSync, openSync } from 'node:fs';
import { BpfError } from './errors.js';
import type { Libbpf } from './libbpf.js';

const CLONE_NEWNET = 0x40000000;

/** Calls fn inside the namespace at `path` (/run/netns/NAME, /proc/PID/ns/net). */
export function inNetns<T>(lib: Libbpf, path: string, fn: () => T): T {
  return fromHome(lib, () => {
    const target = openNamespace(path);
    try {
      if (lib.setns(target, CLONE_NEWNET) !== 0) throw new BpfError(lib.errno(), `setns ${path}`);
    } finally {
      closeSync(target);
    }
  }, fn);
}

/** Calls fn inside a new, empty network namespace (just a down `lo`), gone once fn returns. */
export function inFreshNetns<T>(lib: Libbpf, fn: () => T): T {
  return fromHome(lib, () => {
    if (lib.unshare(CLONE_NEWNET) !== 0) throw new BpfError(lib.errno(), 'unshare CLONE_NEWNET');
  }, fn);
}

function fromHome<T>(lib: Libbpf, enter: () => void, fn: () => T): T {
  // /proc/thread-self: setns and unshare move this thread, not the process.
  const home = openNamespace('/proc/thread-self/ns/net');
  try {
    enter();
    try {
      return fn();
    } finally {
      if (lib.setns(home, CLONE_NEWNET) !== 0) {
        // The thread would go on in the wrong namespace: nothing safe remains.
        throw new BpfError(lib.errno(), 'setns back to the original network namespace');
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
    const errno = (err as NodeJS.ErrnoException).errno;
    throw new BpfError(typeof errno === 'number' ? -errno : 2, `open network namespace ${path}`);
  }
}
