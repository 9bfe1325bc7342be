// The whole IPVS table as the kernel prints it in /proc/net/ip_vs: every virtual server and its
// real servers in one read, where netlink needs one request per virtual server for the real
// servers. The IPVS mode's drift check reads it (ipvs-proc-table.ts parses it). /proc/net is the
// reading thread's network namespace, so with `netns` the thread reads it from inside that one.
import { readFileSync } from 'node:fs';
import { SyscallError, fsErrno } from './errors.js';
import { systemLibc, type Libc } from './libc.js';
import { inNetns } from './netns.js';

export interface IpvsProcOptions {
  /** Read the table of this network namespace (a path like /run/netns/NAME). */
  readonly netns?: string;
  readonly libc?: Pick<Libc, 'setns' | 'errno'>;
}

const TABLE = '/proc/thread-self/net/ip_vs';

/** A reader of the table of `options.netns` (or of this thread's namespace). */
export function ipvsProcReader(options: IpvsProcOptions = {}): () => string {
  const read = (): string => {
    try {
      return readFileSync(TABLE, 'utf8');
    } catch (err) {
      throw new SyscallError(fsErrno(err), `read ${TABLE}`);
    }
  };
  const { netns } = options;
  if (netns === undefined) return read;
  return () => inNetns(options.libc ?? systemLibc(), netns, read);
}
