// The guest's initramfs: a cached base archive (busybox, modules, boot scripts), keyed by the
// kernel version, the module list and the scripts, plus a small per-run archive appended to it
// (the kernel unpacks concatenated cpio archives in turn).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type CpioEntry, cpioNewc } from './cpio-newc.js';
import { type GuestKernel, resolveModuleLoads } from './guest-kernel.js';
import { STAGE1_INIT, STAGE2 } from './guest-init.js';
import { VmSetupError } from './vm-errors.js';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

const PT_INTERP = 3;

/** Whether an ELF64 executable names a dynamic loader: then it cannot run in the initramfs. */
function isDynamicElf(image: Buffer): boolean {
  const phoff = Number(image.readBigUInt64LE(0x20));
  const phentsize = image.readUInt16LE(0x36);
  const phnum = image.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (image.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return true;
  }
  return false;
}

const MODULE_SIG_MAGIC = Buffer.from('~Module signature appended~\n', 'ascii');
/** struct module_signature: algo, hash, id_type, signer_len, key_id_len, __pad[3], sig_len (be32). */
const MODULE_SIG_INFO_SIZE = 12;

/**
 * The module without its appended signature. Checking signatures costs about 0.4 s a boot under
 * TCG; the guest kernel does not enforce them and loads the module (marking itself tainted).
 */
export function stripModuleSignature(module: Buffer): Buffer {
  if (module.length < MODULE_SIG_MAGIC.length + MODULE_SIG_INFO_SIZE) return module;
  if (!module.subarray(module.length - MODULE_SIG_MAGIC.length).equals(MODULE_SIG_MAGIC)) return module;
  const info = module.length - MODULE_SIG_MAGIC.length - MODULE_SIG_INFO_SIZE;
  const sigLen = module.readUInt32BE(info + 8);
  const end = info - sigLen;
  return end > 0 ? module.subarray(0, end) : module;
}

/** A statically linked busybox (Debian's busybox-static; the plain package is dynamic). */
async function staticBusybox(): Promise<Buffer> {
  for (const path of BUSYBOX_CANDIDATES) {
    if (!existsSync(path)) continue;
    const image = await readFile(path);
    if (!isDynamicElf(image)) return image;
  }
  throw new VmSetupError('no statically linked busybox (apt-get install busybox-static)');
}

function dirs(...paths: string[]): CpioEntry[] {
  return paths.map((path) => ({ path, type: 'dir', mode: 0o755 }));
}

/**
 * The base archive for `kernel` with `modules` (and their dependencies) loaded at boot, built
 * once and cached in `cacheDir`. Returns its path.
 */
export async function baseInitramfs(kernel: GuestKernel, modules: readonly string[], cacheDir: string): Promise<string> {
  const busybox = await staticBusybox();
  const key = createHash('sha256')
    .update(JSON.stringify({ kernel: kernel.version, modules, STAGE1_INIT, STAGE2 }))
    .update(busybox)
    .digest('hex')
    .slice(0, 16);
  const target = join(cacheDir, `initramfs-${kernel.version}-${key}.cpio`);
  if (existsSync(target)) return target;

  const loads = await resolveModuleLoads(kernel, modules);
  const entries: CpioEntry[] = [
    ...dirs('bin', 'dev', 'proc', 'sys', 'mnt', 'mnt/host', 'mnt/rw', 'newroot', 'modules', 'svcplane'),
    // The kernel opens /dev/console for init before anything is mounted.
    { path: 'dev/console', type: 'chardev', mode: 0o600, rdev: [5, 1] },
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
    { path: 'init', type: 'file', mode: 0o755, data: STAGE1_INIT },
    { path: 'svcplane/stage2.sh', type: 'file', mode: 0o644, data: STAGE2 },
  ];
  for (const load of loads) {
    const data = stripModuleSignature(await readFile(load.path));
    entries.push({ path: `modules/${basename(load.path)}`, type: 'file', mode: 0o644, data });
  }
  const order = loads.map((load) => `${basename(load.path)} ${load.params}`.trimEnd()).join('\n');
  entries.push({ path: 'modules/load-order', type: 'file', mode: 0o644, data: `${order}\n` });

  await mkdir(cacheDir, { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  await writeFile(partial, cpioNewc(entries));
  await rename(partial, target);
  return target;
}

/** The per-run archive: the command script and the shared directory's path. */
export function runArchive(commandScript: string, sharedDir: string): Buffer {
  // svcplane/ exists in the base archive.
  return cpioNewc([
    { path: 'svcplane/command.sh', type: 'file', mode: 0o644, data: commandScript },
    { path: 'svcplane/shared-dir', type: 'file', mode: 0o644, data: sharedDir },
  ]);
}
