// libbpf (Debian's libbpf1) and the few libc calls the loader needs, bound
// through koffi once per Libbpf instance. Object handles (struct bpf_object *,
// bpf_map *, bpf_program *, bpf_link *) stay opaque bigints; buffers are
// Uint8Arrays passed as pointers to their own memory (lookups write in place).
//
// libbpf's print callback is process-wide: the last Libbpf opened owns it. It
// formats every message with vsnprintf, hands it to `print` (or drops it), and
// keeps the tail of what a load printed so a refused program's verifier log
// reaches BpfLoadError.

import koffi, { type LibraryHandle } from 'koffi';
import { LIBBPF_DEBUG, LIBBPF_INFO } from './constants.js';

/** An opaque libbpf handle (a non-NULL pointer). */
export type Handle = bigint;

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';
export type LibbpfPrint = (level: LibbpfLogLevel, message: string) => void;

export interface LibbpfOptions {
  /** Receives libbpf's messages (one formatted message each, usually ending in "\n"); without it they are dropped. */
  readonly print?: LibbpfPrint;
  /** Shared objects to load. Defaults: libbpf.so.1 and libc.so.6. */
  readonly libbpfPath?: string;
  readonly libcPath?: string;
}

/** How much of a load's messages BpfLoadError keeps (the verifier's verdict is at the end). */
const LOG_TAIL_BYTES = 8 * 1024;
/** sizeof(va_list) as the print callback receives it (x86-64: one __va_list_tag; arm64: struct of 32 bytes). */
const VA_LIST_SIZE = process.arch === 'arm64' ? 32 : 24;

function handle(p: unknown): Handle | null {
  return typeof p === 'bigint' && p !== 0n ? p : null;
}

export class Libbpf {
  // libbpf.so.1
  readonly objectOpenFile: (path: string) => Handle | null;
  readonly objectLoad: (obj: Handle) => number;
  readonly objectClose: (obj: Handle) => void;
  readonly objectNextMap: (obj: Handle, prev: Handle | null) => Handle | null;
  readonly objectNextProgram: (obj: Handle, prev: Handle | null) => Handle | null;
  readonly mapName: (map: Handle) => string;
  readonly mapIsInternal: (map: Handle) => boolean;
  /** A null path: not pinned. */
  readonly mapSetPinPath: (map: Handle, path: string | null) => number;
  readonly mapFd: (map: Handle) => number;
  readonly mapType: (map: Handle) => number;
  readonly mapKeySize: (map: Handle) => number;
  readonly mapValueSize: (map: Handle) => number;
  readonly mapMaxEntries: (map: Handle) => number;
  readonly programName: (prog: Handle) => string;
  readonly programFd: (prog: Handle) => number;
  readonly programType: (prog: Handle) => number;
  readonly programExpectedAttachType: (prog: Handle) => number;
  readonly programAttachCgroup: (prog: Handle, cgroupFd: number) => Handle | null;
  readonly linkOpen: (path: string) => Handle | null;
  readonly linkFd: (link: Handle) => number;
  readonly linkPin: (link: Handle, path: string) => number;
  readonly linkUpdateProgram: (link: Handle, prog: Handle) => number;
  readonly linkDetach: (link: Handle) => number;
  readonly linkDestroy: (link: Handle) => number;
  readonly tcHookCreate: (hook: Uint8Array) => number;
  readonly tcAttach: (hook: Uint8Array, opts: Uint8Array) => number;
  readonly tcDetach: (hook: Uint8Array, opts: Uint8Array) => number;
  readonly tcQuery: (hook: Uint8Array, opts: Uint8Array) => number;
  readonly objGet: (path: string) => number;
  readonly objGetInfoByFd: (fd: number, info: Uint8Array, length: number) => number;
  readonly mapCreate: (type: number, name: string, keySize: number, valueSize: number, maxEntries: number) => number;
  readonly mapUpdateElem: (fd: number, key: Uint8Array, value: Uint8Array, flags: number) => number;
  readonly mapLookupElem: (fd: number, key: Uint8Array, value: Uint8Array) => number;
  readonly mapDeleteElem: (fd: number, key: Uint8Array) => number;
  readonly mapGetNextKey: (fd: number, key: Uint8Array | null, next: Uint8Array) => number;
  /** count: in, elements to process; out (count[0]), elements processed. */
  readonly mapUpdateBatch: (fd: number, keys: Uint8Array, values: Uint8Array, count: number[], opts: Uint8Array) => number;
  readonly mapDeleteBatch: (fd: number, keys: Uint8Array, count: number[], opts: Uint8Array) => number;
  readonly progLoad: (type: number, name: string, license: string, insns: Uint8Array, count: number, opts: Uint8Array) => number;
  readonly linkCreate: (progFd: number, targetFd: number, attachType: number) => number;
  readonly numPossibleCpus: () => number;
  // libc.so.6
  readonly mount: (source: string, target: string, fstype: string, flags: number) => number;
  readonly ifNametoindex: (name: string) => number;
  readonly closeFd: (fd: number) => number;
  readonly setns: (fd: number, nstype: number) => number;
  readonly unshare: (flags: number) => number;
  /** errno of the last failed call on this thread. */
  readonly errno: () => number;

  private readonly printCallback: bigint;
  /** libbpf_set_print: installs fn, returns the previous one. */
  private readonly setPrint: (fn: bigint | null) => unknown;
  private capture: { chunks: string[]; bytes: number } | undefined;
  private released = false;

  private constructor(options: LibbpfOptions) {
    const bpf = koffi.load(options.libbpfPath ?? 'libbpf.so.1');
    const libc = koffi.load(options.libcPath ?? 'libc.so.6');
    const f = (lib: LibraryHandle, decl: string): ((...args: unknown[]) => unknown) => lib.func(decl);
    const ptr = (decl: string): ((...args: unknown[]) => Handle | null) => {
      const fn = f(bpf, decl);
      return (...args) => handle(fn(...args));
    };
    const int = (lib: LibraryHandle, decl: string): ((...args: unknown[]) => number) => {
      const fn = f(lib, decl);
      return (...args) => Number(fn(...args));
    };

    const openFile = ptr('void *bpf_object__open_file(const char *path, const void *opts)');
    this.objectOpenFile = (path) => openFile(path, null);
    this.objectLoad = int(bpf, 'int bpf_object__load(void *obj)');
    const objectClose = f(bpf, 'void bpf_object__close(void *obj)');
    this.objectClose = (obj) => void objectClose(obj);
    this.objectNextMap = ptr('void *bpf_object__next_map(void *obj, void *prev)');
    this.objectNextProgram = ptr('void *bpf_object__next_program(void *obj, void *prev)');
    const mapName = f(bpf, 'const char *bpf_map__name(void *map)');
    this.mapName = (map) => String(mapName(map));
    const mapIsInternal = f(bpf, 'bool bpf_map__is_internal(void *map)');
    this.mapIsInternal = (map) => mapIsInternal(map) === true;
    this.mapSetPinPath = int(bpf, 'int bpf_map__set_pin_path(void *map, const char *path)');
    this.mapFd = int(bpf, 'int bpf_map__fd(void *map)');
    this.mapType = int(bpf, 'uint32_t bpf_map__type(void *map)');
    this.mapKeySize = int(bpf, 'uint32_t bpf_map__key_size(void *map)');
    this.mapValueSize = int(bpf, 'uint32_t bpf_map__value_size(void *map)');
    this.mapMaxEntries = int(bpf, 'uint32_t bpf_map__max_entries(void *map)');
    const programName = f(bpf, 'const char *bpf_program__name(void *prog)');
    this.programName = (prog) => String(programName(prog));
    this.programFd = int(bpf, 'int bpf_program__fd(void *prog)');
    this.programType = int(bpf, 'uint32_t bpf_program__type(void *prog)');
    this.programExpectedAttachType = int(bpf, 'uint32_t bpf_program__expected_attach_type(void *prog)');
    this.programAttachCgroup = ptr('void *bpf_program__attach_cgroup(void *prog, int cgroup_fd)');
    this.linkOpen = ptr('void *bpf_link__open(const char *path)');
    this.linkFd = int(bpf, 'int bpf_link__fd(void *link)');
    this.linkPin = int(bpf, 'int bpf_link__pin(void *link, const char *path)');
    this.linkUpdateProgram = int(bpf, 'int bpf_link__update_program(void *link, void *prog)');
    this.linkDetach = int(bpf, 'int bpf_link__detach(void *link)');
    this.linkDestroy = int(bpf, 'int bpf_link__destroy(void *link)');
    this.tcHookCreate = int(bpf, 'int bpf_tc_hook_create(void *hook)');
    this.tcAttach = int(bpf, 'int bpf_tc_attach(const void *hook, void *opts)');
    this.tcDetach = int(bpf, 'int bpf_tc_detach(const void *hook, const void *opts)');
    this.tcQuery = int(bpf, 'int bpf_tc_query(const void *hook, void *opts)');
    this.objGet = int(bpf, 'int bpf_obj_get(const char *path)');
    const getInfo = int(bpf, 'int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *info_len)');
    this.objGetInfoByFd = (fd, info, length) => getInfo(fd, info, [length]);
    const mapCreate = int(bpf, 'int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const void *opts)');
    this.mapCreate = (type, name, keySize, valueSize, maxEntries) => mapCreate(type, name, keySize, valueSize, maxEntries, null);
    // The per-element calls are the hot path (one per map write): bound without extra wrapping.
    this.mapUpdateElem = f(bpf, 'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)') as Libbpf['mapUpdateElem'];
    this.mapLookupElem = f(bpf, 'int bpf_map_lookup_elem(int fd, const void *key, void *value)') as Libbpf['mapLookupElem'];
    this.mapDeleteElem = f(bpf, 'int bpf_map_delete_elem(int fd, const void *key)') as Libbpf['mapDeleteElem'];
    this.mapGetNextKey = f(bpf, 'int bpf_map_get_next_key(int fd, const void *key, void *next_key)') as Libbpf['mapGetNextKey'];
    this.mapUpdateBatch = int(bpf, 'int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const void *opts)');
    this.mapDeleteBatch = int(bpf, 'int bpf_map_delete_batch(int fd, const void *keys, _Inout_ uint32_t *count, const void *opts)');
    this.progLoad = int(bpf, 'int bpf_prog_load(int type, const char *name, const char *license, const void *insns, size_t insn_cnt, const void *opts)');
    const linkCreate = int(bpf, 'int bpf_link_create(int prog_fd, int target_fd, int attach_type, const void *opts)');
    this.linkCreate = (progFd, targetFd, attachType) => linkCreate(progFd, targetFd, attachType, null);
    this.numPossibleCpus = int(bpf, 'int libbpf_num_possible_cpus()');

    const mount = int(libc, 'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)');
    this.mount = (source, target, fstype, flags) => mount(source, target, fstype, flags, null);
    this.ifNametoindex = int(libc, 'unsigned int if_nametoindex(const char *name)');
    this.closeFd = int(libc, 'int close(int fd)');
    this.setns = int(libc, 'int setns(int fd, int nstype)');
    this.unshare = int(libc, 'int unshare(int flags)');
    this.errno = () => koffi.errno();

    const vsnprintf = int(libc, 'int vsnprintf(void *buf, size_t size, void *fmt, void *ap)');
    const decoder = new TextDecoder();
    let buffer = new Uint8Array(1024);
    const format = (fmt: bigint, ap: bigint): string => {
      // va_copy by hand: vsnprintf consumes the list it is given, and a message
      // longer than the buffer needs a second pass over the original.
      const saved = new Uint8Array(koffi.view(ap, VA_LIST_SIZE)).slice();
      let n = vsnprintf(buffer, buffer.length, fmt, saved.slice());
      if (n >= buffer.length) {
        buffer = new Uint8Array(n + 1);
        n = vsnprintf(buffer, buffer.length, fmt, saved.slice());
      }
      return n > 0 ? decoder.decode(buffer.subarray(0, n)) : '';
    };
    const print = options.print;
    const onMessage = (level: number, fmt: unknown, ap: unknown): number => {
      if (typeof fmt !== 'bigint' || typeof ap !== 'bigint') return 0;
      if (print === undefined && this.capture === undefined) return 0;
      // An exception must not unwind through libbpf's C frames.
      try {
        const message = format(fmt, ap);
        this.record(message);
        print?.(level === LIBBPF_DEBUG ? 'debug' : level === LIBBPF_INFO ? 'info' : 'warn', message);
      } catch {
        // a failing logger must not break loading
      }
      return 0;
    };
    const proto = koffi.proto('int', ['int', 'void *', 'void *']);
    this.printCallback = koffi.register(onMessage, koffi.pointer(proto));
    this.setPrint = f(bpf, 'void *libbpf_set_print(void *fn)');
    this.setPrint(this.printCallback);
  }

  static open(options: LibbpfOptions = {}): Libbpf {
    return new Libbpf(options);
  }

  /** Runs fn and returns its result with the tail of what libbpf printed meanwhile (for error reports). */
  captureLog<T>(fn: () => T): { result: T; log: string } {
    const previous = this.capture;
    const capture = { chunks: [] as string[], bytes: 0 };
    this.capture = capture;
    try {
      const result = fn();
      return { result, log: capture.chunks.join('') };
    } finally {
      this.capture = previous;
    }
  }

  /** Unhooks the print callback (libbpf then prints nothing) and frees its slot. */
  close(): void {
    if (this.released) return;
    this.released = true;
    // Only unhook our own callback: a Libbpf opened later may own the hook now.
    const current = this.setPrint(null);
    if (current !== this.printCallback) this.setPrint(typeof current === 'bigint' ? current : null);
    koffi.unregister(this.printCallback);
  }

  private record(message: string): void {
    const capture = this.capture;
    if (capture === undefined) return;
    capture.chunks.push(message);
    capture.bytes += message.length;
    while (capture.bytes > LOG_TAIL_BYTES && capture.chunks.length > 1) {
      capture.bytes -= capture.chunks.shift()?.length ?? 0;
    }
    if (capture.bytes > LOG_TAIL_BYTES) {
      // one huge message (libbpf prints the whole verifier log at once): keep its end
      const only = capture.chunks[0] ?? '';
      capture.chunks[0] = only.slice(only.length - LOG_TAIL_BYTES);
      capture.bytes = LOG_TAIL_BYTES;
    }
  }
}
