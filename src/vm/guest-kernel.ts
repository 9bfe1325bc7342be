// The guest's kernel: Debian's linux-image-amd64 as installed under /boot, its modules, and an
// uncompressed copy of it. The host's own kernel may lack IPVS (and loadable modules); the guest
// kernel is only ever booted inside qemu, never on the host.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VmSetupError } from './vm-errors.js';

const execFileAsync = promisify(execFile);

export interface GuestKernel {
  /** e.g. "6.1.0-56-amd64" */
  version: string;
  /** The bzImage, /boot/vmlinuz-<version>. */
  vmlinuz: string;
  /** /lib/modules/<version> */
  modulesDir: string;
}

/** One `insmod` of a module: its .ko file and the options modprobe.d gives it. */
export interface ModuleLoad {
  path: string;
  params: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
  const pb = b.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The newest /boot/vmlinuz-*-amd64 whose modules are installed. */
export async function findGuestKernel(bootDir = '/boot', modulesRoot = '/lib/modules'): Promise<GuestKernel> {
  const names = await readdir(bootDir).catch(() => [] as string[]);
  const versions = names
    .map((name) => /^vmlinuz-(.+-amd64)$/.exec(name)?.[1])
    .filter((version): version is string => version !== undefined && existsSync(join(modulesRoot, version, 'modules.dep')))
    .sort(compareVersions);
  const version = versions.at(-1);
  if (version === undefined) {
    throw new VmSetupError(`no guest kernel: no ${bootDir}/vmlinuz-*-amd64 with modules (apt-get install linux-image-amd64)`);
  }
  return { version, vmlinuz: join(bootDir, `vmlinuz-${version}`), modulesDir: join(modulesRoot, version) };
}

/**
 * The insmod lines that load `modules` and their dependencies, in load order, each .ko once.
 * `modprobe --show-depends` reads modules.dep and modprobe.d without loading anything.
 */
export async function resolveModuleLoads(kernel: GuestKernel, modules: readonly string[]): Promise<ModuleLoad[]> {
  const loads: ModuleLoad[] = [];
  const seen = new Set<string>();
  for (const module of modules) {
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync('modprobe', ['-S', kernel.version, '--show-depends', module]));
    } catch (cause) {
      throw new VmSetupError(`guest kernel ${kernel.version} has no module ${module}`, { cause });
    }
    for (const line of stdout.split('\n')) {
      const match = /^insmod (\S+)\s*(.*)$/.exec(line.trim());
      if (match === null) continue; // "builtin <name>": nothing to load
      const [, path = '', params = ''] = match;
      if (seen.has(path)) continue;
      if (!path.endsWith('.ko')) throw new VmSetupError(`compressed module not supported by busybox insmod: ${path}`);
      seen.add(path);
      loads.push({ path, params: params.trim() });
    }
  }
  return loads;
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

function xzDecompress(input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // --single-stream: the bzImage carries trailing data after the xz stream.
    const child = execFile('xz', ['-dc', '--single-stream'], { encoding: 'buffer', maxBuffer: 512 << 20 }, (error, stdout) =>
      error === null ? resolve(stdout) : reject(error),
    );
    // xz stops reading at the end of the stream: the rest of the input meets a closed pipe.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/**
 * The kernel as an uncompressed ELF (vmlinux), extracted once from the bzImage's xz payload and
 * cached. qemu boots it through its PVH entry point, skipping the decompressor, which is slow
 * under TCG (about 2.5 s a boot). Falls back to the bzImage when extraction fails.
 */
export async function uncompressedKernel(kernel: GuestKernel, cacheDir: string): Promise<string> {
  const target = join(cacheDir, `vmlinux-${kernel.version}`);
  if (existsSync(target)) return target;
  const image = await readFile(kernel.vmlinuz);
  const offset = image.indexOf(XZ_MAGIC);
  if (offset < 0) return kernel.vmlinuz;
  const vmlinux = await xzDecompress(image.subarray(offset)).catch(() => undefined);
  if (vmlinux === undefined || !vmlinux.subarray(0, 4).equals(ELF_MAGIC)) return kernel.vmlinuz;
  // Written aside and renamed: concurrent runs never see a partial file.
  await mkdir(cacheDir, { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  await writeFile(partial, vmlinux);
  await rename(partial, target);
  return target;
}
