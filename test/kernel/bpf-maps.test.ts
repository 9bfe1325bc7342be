// Privileged: the BPF loader against the real kernel — loading with pins, map
// CRUD, iteration, batches, pin reuse across objects, verifier refusals, the
// capability probe. Everything lives under a throwaway pin root.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BPF_EXIST,
  BPF_MAP_TYPE_HASH,
  BPF_NOEXIST,
  BpfError,
  BpfLoadError,
  BpfMap,
  BpfObject,
  BpfUsageError,
  ensureBpffs,
  isBpffs,
  Libbpf,
  probeBpf,
  unpinAll,
  type LibbpfLogLevel,
} from '../../src/kernel/bpf/index.js';
import { runChecked } from '../../src/kernel/exec.js';
import { cgroup2Root, compileBpfFixture, randomSuffix, readU64, u32, u64 } from '../lib/bpf-fixture.js';

const messages: { level: LibbpfLogLevel; message: string }[] = [];
const lib = Libbpf.open({ print: (level, message) => messages.push({ level, message }) });
const pinRoot = `/sys/fs/bpf/svcp-test-${randomSuffix()}`;
const outDir = mkdtempSync(join(tmpdir(), 'svcp-bpf-'));
let testObject = '';
let badObject = '';
const opened: BpfObject[] = [];

function load(file = testObject, root: string | null = pinRoot): BpfObject {
  const obj = BpfObject.open(lib, file, root === null ? {} : { pinRoot: root });
  opened.push(obj);
  obj.load();
  return obj;
}

beforeAll(async () => {
  ensureBpffs(lib);
  testObject = await compileBpfFixture('loader-test', outDir);
  badObject = await compileBpfFixture('loader-bad', outDir);
});

afterAll(() => {
  for (const obj of opened) obj.close();
  try {
    unpinAll(pinRoot);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    lib.close();
  }
});

describe('bpffs', () => {
  it('is mounted, and a second ensureBpffs mounts nothing', () => {
    expect(isBpffs('/sys/fs/bpf')).toBe(true);
    expect(ensureBpffs(lib)).toBe(false);
    expect(isBpffs(outDir)).toBe(false);
  });

  it('mounts one where there is none', async () => {
    const dir = join(outDir, 'bpffs');
    expect(ensureBpffs(lib, dir)).toBe(true);
    try {
      expect(isBpffs(dir)).toBe(true);
      expect(ensureBpffs(lib, dir)).toBe(false);
    } finally {
      await runChecked('umount', [dir]);
    }
    expect(isBpffs(dir)).toBe(false);
  });
});

describe('BpfObject', () => {
  it('loads, pins every declared map by name, and never pins .rodata', () => {
    const obj = load();
    expect(obj.programNames.sort()).toEqual(['test_connect4', 'test_connect4_v2', 'test_tc', 'test_tc_v2']);
    const rodata = obj.mapNames.find((name) => name.endsWith('.rodata'));
    expect(rodata).toBeDefined();
    for (const name of ['test_calls', 'test_rewrite', 'test_tc_count', 'test_bulk', 'test_percpu']) {
      expect(existsSync(join(pinRoot, name)), name).toBe(true);
    }
    expect(existsSync(join(pinRoot, rodata ?? ''))).toBe(false);
    expect(obj.program('test_connect4').fd).toBeGreaterThan(0);
    expect(obj.program('test_connect4').id).toBeGreaterThan(0);
    expect(() => obj.program('nope')).toThrow(BpfUsageError);
    expect(() => obj.map('nope')).toThrow(/has no map nope/);
  });

  it('reports a missing file with its errno', () => {
    const err = catchError(() => BpfObject.open(lib, join(outDir, 'missing.bpf.o')));
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).errnoName).toBe('ENOENT');
  });

  it('reports a verifier refusal as BpfLoadError with the log tail, also handed to print', () => {
    messages.length = 0;
    const obj = BpfObject.open(lib, badObject);
    opened.push(obj);
    const err = catchError(() => obj.load());
    expect(err).toBeInstanceOf(BpfLoadError);
    const loadError = err as BpfLoadError;
    expect(loadError.code).toBe('SVCPLANE_BPF_LOAD');
    expect(loadError.errnoName).toBe('EACCES');
    expect(loadError.log).toMatch(/invalid mem access 'map_value_or_null'/);
    expect(loadError.message).toContain('invalid mem access');
    expect(messages.some((m) => m.level === 'warn' && m.message.includes('invalid mem access'))).toBe(true);
  });
});

describe('BpfMap', () => {
  it('updates, looks up and deletes elements', () => {
    const map = load().map('test_bulk');
    expect(map.type).toBe(BPF_MAP_TYPE_HASH);
    expect([map.keySize, map.valueSize, map.maxEntries]).toEqual([4, 8, 20000]);
    expect(map.lookup(u32(7))).toBeUndefined();
    map.update(u32(7), u64(70));
    expect(readU64(map.lookup(u32(7)))).toBe(70n);
    map.update(u32(7), u64(71), BPF_EXIST);
    expect(readU64(map.lookup(u32(7)))).toBe(71n);
    const exists = catchError(() => map.update(u32(7), u64(1), BPF_NOEXIST));
    expect(exists).toBeInstanceOf(BpfError);
    expect((exists as BpfError).errnoName).toBe('EEXIST');
    expect((exists as BpfError).code).toBe('SVCPLANE_BPF_ERRNO');
    expect(map.delete(u32(7))).toBe(true);
    expect(map.delete(u32(7))).toBe(false);
    expect(() => map.update(u32(1), u32(1))).toThrow(BpfUsageError);
    expect(() => map.lookup(u64(1))).toThrow(/key of 8 bytes, expected 4/);
  });

  it('iterates keys and entries, and batches writes and deletes', () => {
    const map = load().map('test_bulk');
    const keys = Array.from({ length: 10_000 }, (_, i) => u32(i + 1000));
    const values = keys.map((_, i) => u64(BigInt(i) * 3n));
    map.updateBatch(keys, values);
    expect(readU64(map.lookup(u32(1000 + 9_999)))).toBe(29_997n);
    const seen = map.keys().map((k) => new DataView(k.buffer).getUint32(0, true));
    expect(seen.length).toBe(10_000);
    expect(new Set(seen).size).toBe(10_000);
    expect(Math.min(...seen)).toBe(1000);
    const entries = map.entries();
    expect(entries.length).toBe(10_000);
    expect(map.entryCount()).toBe(10_000); // by lookup batches on a hash map
    for (const [k, v] of entries.slice(0, 50)) expect(readU64(v)).toBe(BigInt(new DataView(k.buffer).getUint32(0, true) - 1000) * 3n);
    // absent keys in the middle of a batch are skipped, not fatal
    const toDelete = [u32(1000), u32(5), u32(1001), u32(6), u32(1002)];
    expect(map.deleteBatch(toDelete)).toBe(3);
    expect(map.lookup(u32(1001))).toBeUndefined();
    expect(map.entryCount()).toBe(9_997);
    expect(map.deleteBatch(keys)).toBe(9_997);
    expect(map.keys()).toEqual([]);
    expect(map.entryCount()).toBe(0);
    expect(() => map.updateBatch([u32(1)], [])).toThrow(BpfUsageError);
  });

  it('falls back to one-by-one on an array (no delete batches) and refuses deletes there', () => {
    const map = load().map('test_tc_count');
    map.updateBatch([u32(2), u32(3)], [u64(20), u64(30)]);
    expect(readU64(map.lookup(u32(3)))).toBe(30n);
    expect(map.keys().length).toBe(4); // an array has every index
    expect(map.entryCount()).toBe(4);
    const err = catchError(() => map.deleteBatch([u32(2)]));
    expect((err as BpfError).errnoName).toBe('EINVAL');
  });

  it('takes one value per possible CPU in per-CPU maps', () => {
    const map = load().map('test_percpu');
    const cpus = map.valueBufferSize / 8;
    expect(cpus).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(cpus)).toBe(true);
    const value = new Uint8Array(map.valueBufferSize);
    const view = new DataView(value.buffer);
    for (let cpu = 0; cpu < cpus; cpu++) view.setUint32(cpu * 8, 100 + cpu, true);
    map.update(u32(1), value);
    expect(map.lookup(u32(1))).toEqual(value);
    expect(() => map.update(u32(1), u32(5))).toThrow(BpfUsageError);
  });

  it('reuses pinned maps: a second object and a pinned open see the same data', () => {
    const first = load().map('test_calls');
    first.update(u32(9), u64(12345));
    const secondObject = load();
    expect(readU64(secondObject.map('test_calls').lookup(u32(9)))).toBe(12345n);
    secondObject.map('test_calls').update(u32(10), u64(1));
    expect(readU64(first.lookup(u32(10)))).toBe(1n);

    const pinned = BpfMap.openPinned(lib, join(pinRoot, 'test_calls'));
    try {
      expect([pinned.name, pinned.type, pinned.keySize, pinned.valueSize, pinned.maxEntries]).toEqual(['test_calls', BPF_MAP_TYPE_HASH, 4, 8, 16]);
      expect(readU64(pinned.lookup(u32(9)))).toBe(12345n);
    } finally {
      pinned.close();
    }
    expect(() => pinned.lookup(u32(9))).toThrow(/closed/);
    expect((catchError(() => BpfMap.openPinned(lib, join(pinRoot, 'nope'))) as BpfError).errnoName).toBe('ENOENT');
  });

  it('re-creates a pinned map an earlier build sized differently, with its entries, and keeps the others with their data', async () => {
    const root = `/sys/fs/bpf/svcp-test-resize-${randomSuffix()}`;
    try {
      const older = load(await compileBpfFixture('loader-test', outDir, ['TEST_CALLS_MAX=32']), root);
      expect(older.map('test_calls').maxEntries).toBe(32);
      older.map('test_calls').update(u32(1), u64(7));
      older.map('test_bulk').update(u32(1), u64(8));
      expect(older.resizedMaps).toEqual([]);
      const newer = load(testObject, root);
      expect(newer.resizedMaps).toEqual([{ name: 'test_calls', from: 32, to: 16, copied: 1 }]);
      expect(newer.map('test_calls').maxEntries).toBe(16);
      // What the old map served is in the new one before anything could attach to it.
      expect(readU64(newer.map('test_calls').lookup(u32(1)))).toBe(7n);
      expect(readU64(newer.map('test_bulk').lookup(u32(1)))).toBe(8n);
      const pinned = BpfMap.openPinned(lib, join(root, 'test_calls'));
      expect(pinned.maxEntries).toBe(16);
      pinned.close();
      // Shrunk below what it held: as many entries as fit are carried over, and the load succeeds.
      const grown = load(await compileBpfFixture('loader-test', outDir, ['TEST_CALLS_MAX=32']), root);
      for (let i = 2; i <= 20; i++) grown.map('test_calls').update(u32(i), u64(100 + i));
      const shrunk = load(testObject, root);
      expect(shrunk.resizedMaps).toEqual([{ name: 'test_calls', from: 32, to: 16, copied: 16 }]);
      const kept = shrunk.map('test_calls').entries();
      expect(kept).toHaveLength(16);
      for (const [k, v] of kept) expect(readU64(v)).toBe(readU64(grown.map('test_calls').lookup(k)));
    } finally {
      unpinAll(root);
    }
  });

  it('pins nothing without a pin root, not even LIBBPF_PIN_BY_NAME maps', () => {
    const obj = load(testObject, null);
    obj.map('test_calls').update(u32(1), u64(5));
    expect(existsSync('/sys/fs/bpf/test_calls')).toBe(false);
    // a map of its own, not the pinned one
    expect(readU64(load().map('test_calls').lookup(u32(1)))).toBeUndefined();
  });
});

describe('probeBpf', () => {
  it('succeeds here: bpf(), a connect4 program in a throwaway cgroup, a tc program on a clsact hook', () => {
    expect(probeBpf(lib, { cgroupRoot: cgroup2Root() })).toEqual({ ok: true });
  });

  it('says why when the cgroup root is not cgroup2', () => {
    const result = probeBpf(lib, { cgroupRoot: outDir });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain('is not a cgroup2 mount');
  });
});

describe('unpinAll', () => {
  it('refuses paths outside bpffs and the bpffs root itself', () => {
    expect(() => unpinAll(outDir)).toThrow(BpfUsageError);
    expect(() => unpinAll('/sys/fs/bpf')).toThrow(/mount point/);
  });

  it('removes a pin root with its pins', () => {
    const root = `/sys/fs/bpf/svcp-test-${randomSuffix()}`;
    try {
      load(testObject, root);
      expect(unpinAll(root)).toBe(5);
      expect(existsSync(root)).toBe(false);
      expect(unpinAll(root)).toBe(0);
    } finally {
      if (existsSync(root)) unpinAll(root);
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
