// libbpf (Debian's libbpf1), bound through koffi once per process (the first
// Libbpf.open declares the functions; later ones reuse them), plus the few libc
// calls the loader needs, taken from the process's one libc binding. Object handles (struct bpf_object *,
// bpf_map *, bpf_program *, bpf_link *) stay opaque bigints; buffers are
// Uint8Arrays passed as pointers to their own memory (lookups write in place).
//
// libbpf's print callback is process-wide: the last Libbpf opened owns it. It
// formats every message with vsnprintf, hands it to `print` (or drops it), and
// keeps the tail of what a load printed so a refused program's verifier log
// reaches BpfLoadError.

import koffi from 'koffi';
import { memoised, systemLibc } from '../libc.js';
import { LIBBPF_DEBUG, LIBBPF_INFO } from './constants.js';

/** An opaque libbpf handle (a non-NULL pointer). */
export type Handle = bigint;

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';
export type LibbpfPrint = (level: LibbpfLogLevel, message: string) => void;

export interface LibbpfOptions {
  /** Receives libbpf's messages (one formatted message each, usually ending in "\n"); without it they are dropped. */
  readonly print?: LibbpfPrint;
}

/** How much of a load's messages BpfLoadError keeps (the verifier's verdict is at the end). */
const LOG_TAIL_BYTES = 8 * 1024;
/** sizeof(va_list) as the print callback receives it (x86-64: one __va_list_tag; arm64: struct of 32 bytes). */
const VA_LIST_SIZE = process.arch === 'arm64' ? 32 : 24;

function handle(p: unknown): Handle | null {
  return typeof p === 'bigint' && p !== 0n ? p : null;
}

/** The bound functions a Libbpf exposes (declared once per process). */
export interface LibbpfCalls {
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
  /** `inBatch` null: from the start; `outBatch` receives the token of the next call. */
  readonly mapLookupBatch: (fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number[], opts: Uint8Array) => number;
  readonly progLoad: (type: number, name: string, license: string, insns: Uint8Array, count: number, opts: Uint8Array) => number;
  readonly linkCreate: (progFd: number, targetFd: number, attachType: number) => number;
  readonly numPossibleCpus: () => number;
  /** libbpf_set_print: installs fn, returns the previous one. */
  readonly setPrint: (fn: bigint | null) => unknown;
  // libc.so.6, from the process's binding
  readonly mount: (source: string, target: string, fstype: string, flags: number) => number;
  readonly ifNametoindex: (name: string) => number;
  readonly closeFd: (fd: number) => number;
  readonly setns: (fd: number, nstype: number) => number;
  readonly unshare: (flags: number) => number;
  /** errno of the last failed call on this thread. */
  readonly errno: () => number;

}

function bindLibbpf(): LibbpfCalls {
  const bpf = koffi.load('libbpf.so.1');
  const libc = systemLibc();
  const f = (decl: string): ((...args: unknown[]) => unknown) => bpf.func(decl);
  const ptr = (decl: string): ((...args: unknown[]) => Handle | null) => {
    const fn = f(decl);
    return (...args) => handle(fn(...args));
  };
  const int = (decl: string): ((...args: unknown[]) => number) => {
    const fn = f(decl);
    return (...args) => Number(fn(...args));
  };
  const calls = {} as { -readonly [K in keyof LibbpfCalls]: LibbpfCalls[K] };

  const openFile = ptr('void *bpf_object__open_file(const char *path, const void *opts)');
  calls.objectOpenFile = (path) => openFile(path, null);
  calls.objectLoad = int('int bpf_object__load(void *obj)');
  const objectClose = f('void bpf_object__close(void *obj)');
  calls.objectClose = (obj) => void objectClose(obj);
  calls.objectNextMap = ptr('void *bpf_object__next_map(void *obj, void *prev)');
  calls.objectNextProgram = ptr('void *bpf_object__next_program(void *obj, void *prev)');
  const mapName = f('const char *bpf_map__name(void *map)');
  calls.mapName = (map) => String(mapName(map));
  const mapIsInternal = f('bool bpf_map__is_internal(void *map)');
  calls.mapIsInternal = (map) => mapIsInternal(map) === true;
  calls.mapSetPinPath = int('int bpf_map__set_pin_path(void *map, const char *path)');
  calls.mapFd = int('int bpf_map__fd(void *map)');
  calls.mapType = int('uint32_t bpf_map__type(void *map)');
  calls.mapKeySize = int('uint32_t bpf_map__key_size(void *map)');
  calls.mapValueSize = int('uint32_t bpf_map__value_size(void *map)');
  calls.mapMaxEntries = int('uint32_t bpf_map__max_entries(void *map)');
  const programName = f('const char *bpf_program__name(void *prog)');
  calls.programName = (prog) => String(programName(prog));
  calls.programFd = int('int bpf_program__fd(void *prog)');
  calls.programType = int('uint32_t bpf_program__type(void *prog)');
  calls.programExpectedAttachType = int('uint32_t bpf_program__expected_attach_type(void *prog)');
  calls.programAttachCgroup = ptr('void *bpf_program__attach_cgroup(void *prog, int cgroup_fd)');
  calls.linkOpen = ptr('void *bpf_link__open(const char *path)');
  calls.linkFd = int('int bpf_link__fd(void *link)');
  calls.linkPin = int('int bpf_link__pin(void *link, const char *path)');
  calls.linkUpdateProgram = int('int bpf_link__update_program(void *link, void *prog)');
  calls.linkDetach = int('int bpf_link__detach(void *link)');
  calls.linkDestroy = int('int bpf_link__destroy(void *link)');
  calls.tcHookCreate = int('int bpf_tc_hook_create(void *hook)');
  calls.tcAttach = int('int bpf_tc_attach(const void *hook, void *opts)');
  calls.tcDetach = int('int bpf_tc_detach(const void *hook, const void *opts)');
  calls.tcQuery = int('int bpf_tc_query(const void *hook, void *opts)');
  calls.objGet = int('int bpf_obj_get(const char *path)');
  const getInfo = int('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *info_len)');
  calls.objGetInfoByFd = (fd, info, length) => getInfo(fd, info, [length]);
  const mapCreate = int('int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const void *opts)');
  calls.mapCreate = (type, name, keySize, valueSize, maxEntries) => mapCreate(type, name, keySize, valueSize, maxEntries, null);
  // The per-element calls are the hot path (one per map write): bound without extra wrapping.
  calls.mapUpdateElem = f('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)') as LibbpfCalls['mapUpdateElem'];
  calls.mapLookupElem = f('int bpf_map_lookup_elem(int fd, const void *key, void *value)') as LibbpfCalls['mapLookupElem'];
  calls.mapDeleteElem = f('int bpf_map_delete_elem(int fd, const void *key)') as LibbpfCalls['mapDeleteElem'];
  calls.mapGetNextKey = f('int bpf_map_get_next_key(int fd, const void *key, void *next_key)') as LibbpfCalls['mapGetNextKey'];
  calls.mapUpdateBatch = int('int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const void *opts)');
  calls.mapDeleteBatch = int('int bpf_map_delete_batch(int fd, const void *keys, _Inout_ uint32_t *count, const void *opts)');
  calls.mapLookupBatch = int('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, const void *opts)');
  calls.progLoad = int('int bpf_prog_load(int type, const char *name, const char *license, const void *insns, size_t insn_cnt, const void *opts)');
  const linkCreate = int('int bpf_link_create(int prog_fd, int target_fd, int attach_type, const void *opts)');
  calls.linkCreate = (progFd, targetFd, attachType) => linkCreate(progFd, targetFd, attachType, null);
  calls.numPossibleCpus = int('int libbpf_num_possible_cpus()');

  calls.setPrint = f('void *libbpf_set_print(void *fn)');
  calls.mount = libc.mount;
  calls.ifNametoindex = libc.ifNametoindex;
  calls.closeFd = libc.close;
  calls.setns = libc.setns;
  calls.unshare = libc.unshare;
  calls.errno = libc.errno;
  return calls;
}

/** The process's libbpf binding. */
const libbpfCalls: () => LibbpfCalls = memoised(bindLibbpf);
/** libbpf_print_fn_t; koffi types, like functions, are declared once. */
const printCallbackType = memoised(() => koffi.pointer(koffi.proto('int', ['int', 'void *', 'void *'])));

// The calls are copied onto each instance (Object.assign below); the interface types them.
export interface Libbpf extends LibbpfCalls {}

export class Libbpf {
  private readonly printCallback: bigint;
  private capture: { chunks: string[]; bytes: number } | undefined;
  private released = false;

  private constructor(options: LibbpfOptions) {
    Object.assign(this, libbpfCalls());
    const { vsnprintf } = systemLibc();
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
    this.printCallback = koffi.register(onMessage, printCallbackType());
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
