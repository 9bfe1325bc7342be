// The libc calls svcplane makes (netlink sockets, namespaces, the BPF loader's
// mount and interface lookups, libbpf's message formatting, inotify), bound through
// koffi once per process: systemLibc() declares them on first use and hands
// the same object to every caller after that. Buffers are passed as pointers
// to their own memory (no copies): recv writes in place.

import koffi from 'koffi';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, addrlen: number): number;
  getsockname(fd: number, addr: Uint8Array, addrlen: number[]): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, length: number): number;
  sendto(fd: number, buf: Uint8Array, length: number, flags: number, addr: Uint8Array, addrlen: number): number;
  recv(fd: number, buf: Uint8Array, length: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  unshare(flags: number): number;
  mount(source: string, target: string, fstype: string, flags: number): number;
  /** 0 when there is no such interface. */
  ifNametoindex(name: string): number;
  /** `fmt` and `ap` as a C callback received them (a char * and a copy of its va_list). */
  vsnprintf(buf: Uint8Array, size: number, fmt: bigint, ap: Uint8Array): number;
  inotifyInit1(flags: number): number;
  inotifyAddWatch(fd: number, path: string, mask: number): number;
  inotifyRmWatch(fd: number, wd: number): number;
  read(fd: number, buf: Uint8Array, length: number): number;
  /** errno of the last failed call on this thread. */
  errno(): number;
}

/** The calls a netlink socket makes (unit tests replace them with a fake kernel). */
export type SocketLibc = Pick<Libc, 'socket' | 'bind' | 'getsockname' | 'setsockopt' | 'sendto' | 'recv' | 'close' | 'setns' | 'errno'>;

function bindLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, const void *addr, uint32_t addrlen)');
  const getsockname = lib.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *addrlen)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)');
  const sendto = lib.func('intptr_t sendto(int fd, const void *buf, size_t length, int flags, const void *addr, uint32_t addrlen)');
  const recv = lib.func('intptr_t recv(int fd, void *buf, size_t length, int flags)');
  const close = lib.func('int close(int fd)');
  const setns = lib.func('int setns(int fd, int nstype)');
  const unshare = lib.func('int unshare(int flags)');
  const mount = lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)');
  const ifNametoindex = lib.func('unsigned int if_nametoindex(const char *name)');
  const vsnprintf = lib.func('int vsnprintf(void *buf, size_t size, void *fmt, void *ap)');
  const inotifyInit1 = lib.func('int inotify_init1(int flags)');
  const inotifyAddWatch = lib.func('int inotify_add_watch(int fd, const char *path, uint32_t mask)');
  const inotifyRmWatch = lib.func('int inotify_rm_watch(int fd, int wd)');
  const read = lib.func('intptr_t read(int fd, void *buf, size_t count)');
  return {
    socket: (domain, type, protocol) => Number(socket(domain, type, protocol)),
    bind: (fd, addr, addrlen) => Number(bind(fd, addr, addrlen)),
    getsockname: (fd, addr, addrlen) => Number(getsockname(fd, addr, addrlen)),
    setsockopt: (fd, level, name, value, length) => Number(setsockopt(fd, level, name, value, length)),
    sendto: (fd, buf, length, flags, addr, addrlen) => Number(sendto(fd, buf, length, flags, addr, addrlen)),
    recv: (fd, buf, length, flags) => Number(recv(fd, buf, length, flags)),
    close: (fd) => Number(close(fd)),
    setns: (fd, nstype) => Number(setns(fd, nstype)),
    unshare: (flags) => Number(unshare(flags)),
    mount: (source, target, fstype, flags) => Number(mount(source, target, fstype, flags, null)),
    ifNametoindex: (name) => Number(ifNametoindex(name)),
    vsnprintf: (buf, size, fmt, ap) => Number(vsnprintf(buf, size, fmt, ap)),
    inotifyInit1: (flags) => Number(inotifyInit1(flags)),
    inotifyAddWatch: (fd, path, mask) => Number(inotifyAddWatch(fd, path, mask)),
    inotifyRmWatch: (fd, wd) => Number(inotifyRmWatch(fd, wd)),
    read: (fd, buf, length) => Number(read(fd, buf, length)),
    errno: () => koffi.errno(),
  };
}

/** Declares a binding on the first call and returns the same one after (koffi declarations are per process). */
export function memoised<T>(bindOnce: () => T): () => T {
  let bound: T | undefined;
  return () => (bound ??= bindOnce());
}

/** The process's libc binding. */
export const systemLibc: () => Libc = memoised(bindLibc);
