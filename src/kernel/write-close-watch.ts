// Whether the files a directory watch named are still being written: inotify's IN_CLOSE_WRITE
// (and IN_MOVED_TO), which fs.watch does not report. The manifest source reloads a file as soon
// as its writer closed it (or renamed it into place) instead of waiting a fixed quiet time, and
// waits for the close while the file is open and written to, so a half-written file is not read.
// Its own non-blocking inotify instance, read only when asked (fs.watch wakes the caller).
import path from 'node:path';
import { systemLibc, type Libc } from './libc.js';

// <sys/inotify.h>
const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const IN_MODIFY = 0x00000002;
const IN_CLOSE_WRITE = 0x00000008;
const IN_MOVED_FROM = 0x00000040;
const IN_MOVED_TO = 0x00000080;
const IN_CREATE = 0x00000100;
const IN_DELETE = 0x00000200;
const IN_Q_OVERFLOW = 0x00004000;
const IN_IGNORED = 0x00008000;
const IN_ONLYDIR = 0x01000000;
const IN_ISDIR = 0x40000000;
/** struct inotify_event without its name: wd, mask, cookie, len. */
const EVENT_HEADER = 16;

/** What the events say of the paths asked about. */
export type WriteState = 'closed' | 'writing' | 'unknown';

/** The calls the watch makes (the process's libc binding). */
type InotifyCalls = Pick<Libc, 'inotifyInit1' | 'inotifyAddWatch' | 'inotifyRmWatch' | 'read' | 'close'>;

export class WriteCloseWatch {
  private readonly dirs = new Map<string, number>();
  private readonly byWd = new Map<number, string>();
  /** Per path, what its last event said: written to (not closed since) or closed. */
  private readonly states = new Map<string, 'closed' | 'writing'>();
  private readonly buf = Buffer.alloc(64 * 1024);

  private constructor(
    private readonly calls: InotifyCalls,
    private fd: number,
  ) {}

  /** undefined when inotify cannot be had (no libc binding, instance limit reached). */
  static open(): WriteCloseWatch | undefined {
    try {
      const calls: InotifyCalls = systemLibc();
      const fd = calls.inotifyInit1(IN_NONBLOCK | IN_CLOEXEC);
      return fd < 0 ? undefined : new WriteCloseWatch(calls, fd);
    } catch {
      return undefined;
    }
  }

  /** Watches `dir`'s entries; false if it cannot (the caller then waits as without this). */
  watch(dir: string): boolean {
    if (this.fd < 0) return false;
    if (this.dirs.has(dir)) return true;
    const wd = this.calls.inotifyAddWatch(this.fd, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR);
    if (wd < 0) return false;
    this.dirs.set(dir, wd);
    this.byWd.set(wd, dir);
    return true;
  }

  unwatch(dir: string): void {
    const wd = this.dirs.get(dir);
    if (wd === undefined) return;
    this.dirs.delete(dir);
    this.byWd.delete(wd);
    if (this.fd >= 0) this.calls.inotifyRmWatch(this.fd, wd);
  }

  /**
   * 'closed' when every path's last event closed it (written and closed, renamed into place or
   * away, deleted): it can be read whole now; 'writing' when one is open and was written to;
   * 'unknown' otherwise (no event seen for it, e.g. only created or its attributes changed).
   * Paths found closed are forgotten, so that the map stays as small as the writes pending.
   */
  state(paths: Iterable<string>): WriteState {
    this.drain();
    let all: WriteState = 'closed';
    const closed: string[] = [];
    for (const p of paths) {
      const s = this.states.get(p);
      if (s === 'writing') return 'writing';
      if (s === undefined) all = 'unknown';
      else closed.push(p);
    }
    if (all === 'closed') for (const p of closed) this.states.delete(p);
    return all;
  }

  close(): void {
    if (this.fd < 0) return;
    this.calls.close(this.fd);
    this.fd = -1;
    this.dirs.clear();
    this.byWd.clear();
    this.states.clear();
  }

  /** Reads every queued event (the fd is non-blocking: -1 with EAGAIN when none is left). */
  private drain(): void {
    if (this.fd < 0) return;
    for (;;) {
      const n = this.calls.read(this.fd, this.buf, this.buf.length);
      if (n <= 0) return;
      for (let off = 0; off + EVENT_HEADER <= n; ) {
        const wd = this.buf.readInt32LE(off);
        const mask = this.buf.readUInt32LE(off + 4);
        const len = this.buf.readUInt32LE(off + 12);
        const name = this.buf.toString('utf8', off + EVENT_HEADER, off + EVENT_HEADER + len).replace(/\0+$/, '');
        off += EVENT_HEADER + len;
        if (mask & IN_Q_OVERFLOW) {
          // Events were lost: nothing is known until new ones come.
          this.states.clear();
          continue;
        }
        const dir = this.byWd.get(wd);
        if (dir === undefined || name === '' || mask & IN_IGNORED) continue;
        const file = path.join(dir, name);
        if (mask & IN_ISDIR) this.states.set(file, 'closed');
        else if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) this.states.set(file, 'closed');
        else if (mask & IN_MODIFY) this.states.set(file, 'writing');
        // Created, not yet written: could be a symlink or a file about to be written.
        else if (mask & IN_CREATE) this.states.delete(file);
      }
    }
  }
}
