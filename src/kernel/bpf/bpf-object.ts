// A compiled BPF object file, opened and loaded through libbpf:
//
//   const obj = BpfObject.open(lib, 'bpf/build/svcplane_lb.bpf.o', { pinRoot: '/sys/fs/bpf/svcplane' });
//   obj.load();                         // BpfLoadError with the verifier's log tail on refusal
//   const connect4 = obj.program('svcp_connect4');
//   const services = obj.map('svcp_lb4_svc');
//   obj.close();                        // pinned maps and links stay in the kernel
//
// With a pin root, every map is pinned at <pinRoot>/<map name>: a map already
// pinned there is reused when compatible (same type, sizes, flags), so an
// agent restart or upgrade keeps the dataplane's state; new maps are pinned on
// load. (libbpf refuses the load when a pinned map is incompatible.) A pinned map
// that differs only in max_entries (a newer build resized it) is unpinned first, so
// the load creates it at its new size, and its entries are copied into the new map
// before load() returns: nothing is attached to the new map before it holds what the
// old one served. `resizedMaps` names those maps.

import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from './bpf-map.js';
import { BpfError, BpfLoadError, BpfUsageError } from './errors.js';
import type { Handle, Libbpf } from './libbpf.js';

export interface BpfObjectOptions {
  /** A directory on a bpf filesystem for the maps' pins (created if missing). Without it nothing is pinned,
   * not even maps the object declares with LIBBPF_PIN_BY_NAME. */
  readonly pinRoot?: string;
}

/** One program of a BpfObject; its fd exists once the object is loaded. */
export class BpfProgram {
  constructor(
    readonly lib: Libbpf,
    /** The struct bpf_program * (valid while its object is open). */
    readonly handle: Handle,
    readonly name: string,
  ) {}

  get fd(): number {
    const fd = this.lib.programFd(this.handle);
    if (fd < 0) throw new BpfUsageError(`BPF program ${this.name} is not loaded`);
    return fd;
  }

  /** The kernel's id of the loaded program (what tc and link queries report). */
  get id(): number {
    const info = new Uint8Array(8); // struct bpf_prog_info { __u32 type; __u32 id; ... }
    const rc = this.lib.objGetInfoByFd(this.fd, info, info.length);
    if (rc !== 0) throw new BpfError(-rc, `bpf_obj_get_info_by_fd program ${this.name}`);
    return new DataView(info.buffer).getUint32(4, true);
  }

  /** enum bpf_prog_type. */
  get type(): number {
    return this.lib.programType(this.handle);
  }

  /** enum bpf_attach_type from its section name (cgroup/connect4: BPF_CGROUP_INET4_CONNECT). */
  get expectedAttachType(): number {
    return this.lib.programExpectedAttachType(this.handle);
  }
}

export class BpfObject {
  private handleOrClosed: Handle | null;
  private loaded = false;
  private readonly maps = new Map<string, BpfMap>();
  /** Pinned maps of an earlier build with another max_entries, unpinned to be re-created at this build's size. */
  readonly resizedMaps: { readonly name: string; readonly from: number; readonly to: number; copied?: number }[] = [];
  /** The old maps of `resizedMaps`, open until their entries are copied after the load. */
  private readonly carried = new Map<string, BpfMap>();

  private constructor(
    private readonly lib: Libbpf,
    readonly file: string,
    handle: Handle,
    readonly pinRoot: string | undefined,
  ) {
    this.handleOrClosed = handle;
  }

  static open(lib: Libbpf, file: string, options: BpfObjectOptions = {}): BpfObject {
    const handle = lib.objectOpenFile(file);
    if (handle === null) throw new BpfError(lib.errno(), `bpf_object__open_file ${file}`);
    const object = new BpfObject(lib, file, handle, options.pinRoot);
    try {
      object.setPinPaths(options.pinRoot);
      return object;
    } catch (err) {
      object.close();
      throw err;
    }
  }

  /** Names of the maps the object declares (internal .bss/.data/.rodata maps included). */
  get mapNames(): string[] {
    return this.eachMap().map((m) => this.lib.mapName(m));
  }

  get programNames(): string[] {
    const names: string[] = [];
    const obj = this.handle;
    for (let p = this.lib.objectNextProgram(obj, null); p !== null; p = this.lib.objectNextProgram(obj, p)) names.push(this.lib.programName(p));
    return names;
  }

  /** Creates (or reuses pinned) maps, loads and verifies every program. */
  load(): void {
    if (this.loaded) throw new BpfUsageError(`BPF object ${this.file} is already loaded`);
    const obj = this.handle;
    const { result: rc, log } = this.lib.captureLog(() => this.lib.objectLoad(obj));
    if (rc !== 0) {
      for (const old of this.carried.values()) old.close();
      this.carried.clear();
      throw new BpfLoadError(-rc, this.file, log);
    }
    this.loaded = true;
    this.carryOver();
  }

  program(name: string): BpfProgram {
    const obj = this.handle;
    for (let p = this.lib.objectNextProgram(obj, null); p !== null; p = this.lib.objectNextProgram(obj, p)) {
      if (this.lib.programName(p) === name) return new BpfProgram(this.lib, p, name);
    }
    throw new BpfUsageError(`BPF object ${this.file} has no program ${name} (it has: ${this.programNames.join(', ')})`);
  }

  /** A loaded map by name; its fd belongs to the object (closed with it). */
  map(name: string): BpfMap {
    if (!this.loaded) throw new BpfUsageError(`BPF object ${this.file} is not loaded: load() before map(${name})`);
    const cached = this.maps.get(name);
    if (cached !== undefined) return cached;
    const handle = this.eachMap().find((m) => this.lib.mapName(m) === name);
    if (handle === undefined) throw new BpfUsageError(`BPF object ${this.file} has no map ${name} (it has: ${this.mapNames.join(', ')})`);
    const lib = this.lib;
    const map = new BpfMap(lib, lib.mapFd(handle), {
      name,
      type: lib.mapType(handle),
      keySize: lib.mapKeySize(handle),
      valueSize: lib.mapValueSize(handle),
      maxEntries: lib.mapMaxEntries(handle),
    }, false);
    this.maps.set(name, map);
    return map;
  }

  /** Closes the object's fds. Pinned maps and links, and attached tc programs, stay. */
  close(): void {
    if (this.handleOrClosed === null) return;
    for (const map of this.maps.values()) map.close();
    this.maps.clear();
    this.lib.objectClose(this.handleOrClosed);
    this.handleOrClosed = null;
  }

  private get handle(): Handle {
    if (this.handleOrClosed === null) throw new BpfUsageError(`BPF object ${this.file} is closed`);
    return this.handleOrClosed;
  }

  private eachMap(): Handle[] {
    const maps: Handle[] = [];
    const obj = this.handle;
    for (let m = this.lib.objectNextMap(obj, null); m !== null; m = this.lib.objectNextMap(obj, m)) maps.push(m);
    return maps;
  }

  private unpinIfResized(map: Handle, name: string, path: string): void {
    if (!existsSync(path)) return;
    const pinned = BpfMap.openPinned(this.lib, path);
    try {
      const want = this.lib.mapMaxEntries(map);
      const sameShape = pinned.type === this.lib.mapType(map) && pinned.keySize === this.lib.mapKeySize(map) && pinned.valueSize === this.lib.mapValueSize(map);
      if (!sameShape || pinned.maxEntries === want) return; // equal: reused; another shape: libbpf refuses, as before
      unlinkSync(path);
      this.resizedMaps.push({ name, from: pinned.maxEntries, to: want });
      this.carried.set(name, pinned);
    } finally {
      if (!this.carried.has(name)) pinned.close();
    }
  }

  /** Copies each resized map's old entries into its new map (as many as fit when it shrank). */
  private carryOver(): void {
    for (const [name, old] of this.carried) {
      const into = this.map(name);
      let copied = 0;
      try {
        for (const [key, value] of old.entries()) {
          into.update(key, value);
          copied++;
        }
      } catch (err) {
        if (!(err instanceof BpfError && err.errnoName === 'E2BIG')) throw err;
      } finally {
        old.close();
        const entry = this.resizedMaps.find((r) => r.name === name);
        if (entry) entry.copied = copied;
      }
    }
    this.carried.clear();
  }

  private setPinPaths(pinRoot: string | undefined): void {
    if (pinRoot !== undefined) mkdirSync(pinRoot, { recursive: true, mode: 0o700 });
    for (const map of this.eachMap()) {
      const name = this.lib.mapName(map);
      // Without a pin root, clear the paths libbpf gives LIBBPF_PIN_BY_NAME maps
      // (/sys/fs/bpf/<name>): only svcplane's own directory is ever written.
      // .rodata/.data/.bss hold the object's own constants and globals: a reused
      // pin would keep an older build's contents, so they are never pinned.
      const path = pinRoot === undefined || this.lib.mapIsInternal(map) ? null : join(pinRoot, name);
      if (path !== null) this.unpinIfResized(map, name, path);
      const rc = this.lib.mapSetPinPath(map, path);
      if (rc !== 0) throw new BpfError(-rc, `bpf_map__set_pin_path ${name}`);
    }
  }
}
