// Shared set-up of the BPF loader's privileged tests: the fixture objects
// compiled from test/fixtures/bpf, throwaway names, the cgroup2 mount.
import { mkdtempSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runChecked } from '../../src/kernel/exec.js';
import { CGROUP2_SUPER_MAGIC } from '../../src/kernel/bpf/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'bpf');

/** Compiles test/fixtures/bpf/<name>.bpf.c into a fresh temp dir; returns the object's path. */
export async function compileBpfFixture(name: string, outDir: string = mkdtempSync(join(tmpdir(), 'svcp-bpf-')), defines: readonly string[] = []): Promise<string> {
  const out = join(outDir, `${name}${defines.map((d) => `-${d.replace(/\W/g, '_')}`).join('')}.bpf.o`);
  const arch = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  await runChecked('clang', ['-O2', '-g', '-target', 'bpf', '-Wall', '-I', arch, ...defines.map((d) => `-D${d}`), '-c', join(FIXTURES, `${name}.bpf.c`), '-o', out]);
  return out;
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** The cgroup2 hierarchy: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function cgroup2Root(): string {
  for (const path of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      if (statfsSync(path).type === CGROUP2_SUPER_MAGIC) return path;
    } catch {
      // not there: try the next
    }
  }
  throw new Error('no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified');
}

/** Little-endian u32 / u64 helpers for the fixture maps' keys and values. */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export function u64(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true);
  return out;
}

export function readU64(bytes: Uint8Array | undefined): bigint | undefined {
  return bytes === undefined ? undefined : new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
}
