// The few libc calls a netlink socket needs, bound through koffi. Buffers are
// passed as pointers to their own memory (no copies): recv writes in place.

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
  /** errno of the last failed call on this thread. */
  errno(): number;
}

/** Binds libc once per process (koffi keeps loaded libraries alive anyway). */
export function loadLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, const void *addr, uint32_t addrlen)');
  const getsockname = lib.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *addrlen)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)');
  const sendto = lib.func(
    'intptr_t sendto(int fd, const void *buf, size_t length, int flags, const void *addr, uint32_t addrlen)',
  );
  const recv = lib.func('intptr_t recv(int fd, void *buf, size_t length, int flags)');
  const close = lib.func('int close(int fd)');
  const setns = lib.func('int setns(int fd, int nstype)');
  return {
    socket: (domain, type, protocol) => Number(socket(domain, type, protocol)),
    bind: (fd, addr, addrlen) => Number(bind(fd, addr, addrlen)),
    getsockname: (fd, addr, addrlen) => Number(getsockname(fd, addr, addrlen)),
    setsockopt: (fd, level, name, value, length) => Number(setsockopt(fd, level, name, value, length)),
    sendto: (fd, buf, length, flags, addr, addrlen) => Number(sendto(fd, buf, length, flags, addr, addrlen)),
    recv: (fd, buf, length, flags) => Number(recv(fd, buf, length, flags)),
    close: (fd) => Number(close(fd)),
    setns: (fd, nstype) => Number(setns(fd, nstype)),
    errno: () => koffi.errno(),
  };
}
