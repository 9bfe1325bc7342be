// Runs a command inside a throwaway VM with a real Debian kernel (IPVS, modules), for the tests
// the host kernel cannot run. The guest sees the host's files read-only (writes land in a tmpfs
// overlay and vanish) and the shared directory read-write at the same path; it has no NIC.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandScript } from './guest-init.js';
import { findGuestKernel, uncompressedKernel } from './guest-kernel.js';
import { baseInitramfs, runArchive } from './initramfs.js';
import { type Accelerator, detectAccelerator, qemuArgs, runQemu } from './qemu.js';
import { VmBootError, VmSetupError, VmTimeoutError } from './vm-errors.js';

/** The repository root: the default shared directory and working directory. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** What /init needs to reach the root filesystem and report back; always loaded. */
export const BOOT_MODULES = ['virtio_pci', 'virtio_console', '9pnet_virtio', '9p', 'overlay'] as const;

/**
 * Loaded at boot by default: IPVS and its schedulers, links, conntrack, and what iptables-nft
 * and nft need. The kernel can still load others on demand (the guest's modprobe sees the
 * host's /lib/modules). Legacy iptables tables (iptable_*) are left out on purpose: once one
 * exists, iptables-nft prints a warning about it in every listing.
 */
export const DEFAULT_VM_MODULES: readonly string[] = [
  ...['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_wlc', 'ip_vs_lblc', 'ip_vs_lblcr', 'ip_vs_sh', 'ip_vs_dh'],
  ...['ip_vs_sed', 'ip_vs_nq', 'ip_vs_mh', 'ip_vs_fo', 'ip_vs_ovf'],
  ...['nf_conntrack', 'nf_conntrack_netlink', 'nf_nat', 'dummy', 'veth'],
  ...['nf_tables', 'nft_compat', 'nft_chain_nat', 'nft_ct', 'nft_nat', 'nft_masq', 'nft_redir', 'nft_reject_inet'],
  ...['nft_fib_inet', 'nft_fib_ipv4', 'nft_fib_ipv6', 'nft_numgen', 'nft_hash', 'nft_limit', 'nft_log', 'nft_objref'],
  ...['nft_quota', 'nft_socket', 'nft_tproxy', 'nfnetlink_log', 'nf_log_syslog'],
  ...['x_tables', 'ip_tables', 'ip6_tables', 'ipt_REJECT', 'ip6t_REJECT', 'xt_addrtype', 'xt_comment', 'xt_conntrack'],
  ...['xt_mark', 'xt_MASQUERADE', 'xt_nat', 'xt_multiport', 'xt_statistic', 'xt_tcpudp', 'xt_ipvs'],
  ...['xt_physdev', 'xt_recent', 'xt_state', 'xt_limit', 'xt_CT', 'xt_REDIRECT', 'xt_connmark', 'xt_NFLOG', 'xt_LOG'],
  ...['xt_owner', 'xt_socket', 'xt_TPROXY', 'xt_pkttype', 'xt_iprange', 'xt_length', 'xt_hashlimit'],
  ...['ip_set_hash_net', 'ip_set_hash_netport', 'ip_set_hash_netiface', 'ip_set_bitmap_port', 'ip_set_list_set'],
  // IPVS mode's ipsets (hash:ip,port,ip / hash:ip,port / hash:ip,port,net; bitmap:port above) and the rules matching them.
  ...['ip_set_hash_ipportip', 'ip_set_hash_ipport', 'ip_set_hash_ipportnet', 'xt_set'],
];

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface VmRunOptions {
  /** The program and its arguments (argv, never parsed by a shell). Looked up in env's PATH. */
  command: string[];
  /** Working directory inside the guest. Default: the shared directory. */
  cwd?: string;
  /** Added to (and overriding) the default PATH, HOME=/root and SVCPLANE_IN_VM=1. */
  env?: Record<string, string>;
  /** Kills the VM after this long. Default 120 s. */
  timeoutMs?: number;
  /** Modules loaded at boot besides BOOT_MODULES. Default DEFAULT_VM_MODULES. */
  modules?: readonly string[];
  /** Host directory shared read-write at the same path. Default: the repository root. */
  sharedDir?: string;
  /** Guest memory. Default 2048 MB. */
  memoryMb?: number;
  /** Kills the VM when aborted. */
  signal?: AbortSignal;
  /** Where the uncompressed kernel and initramfs are cached. Default <repo>/.cache/vm. */
  cacheDir?: string;
  /** Default: KVM when it can run a stock kernel, else TCG. */
  accelerator?: Accelerator;
}

export interface VmRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** From starting qemu to the guest starting the command. */
  bootMs: number;
  /** From starting qemu to qemu's exit. */
  totalMs: number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validate(options: VmRunOptions): void {
  if (options.command.length === 0) throw new VmSetupError('runInVm: empty command');
  const words = [...options.command, ...Object.values(options.env ?? {}), options.cwd ?? ''];
  if (words.some((word) => word.includes('\0'))) throw new VmSetupError('runInVm: NUL byte in command, env or cwd');
  const sharedDir = options.sharedDir;
  if (sharedDir !== undefined && (!isAbsolute(sharedDir) || resolve(sharedDir) === '/' || !existsSync(sharedDir))) {
    throw new VmSetupError(`runInVm: sharedDir must be an existing absolute directory other than /: ${sharedDir}`);
  }
  if (options.cwd !== undefined && !isAbsolute(options.cwd)) throw new VmSetupError(`runInVm: cwd must be absolute: ${options.cwd}`);
  const badName = Object.keys(options.env ?? {}).find((name) => !ENV_NAME.test(name));
  if (badName !== undefined) throw new VmSetupError(`runInVm: invalid environment variable name ${JSON.stringify(badName)}`);
}

/** SVCPLANE_VM_ACCEL=tcg|kvm overrides the detection, for machines where it guesses wrong. */
function acceleratorFromEnv(): Accelerator | undefined {
  const value = process.env.SVCPLANE_VM_ACCEL;
  return value === 'kvm' || value === 'tcg' ? value : undefined;
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

function tail(text: string, chars = 6000): string {
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

/** Runs `command` inside a fresh VM and returns its exit code and output. */
export async function runInVm(options: VmRunOptions): Promise<VmRunResult> {
  validate(options);
  const sharedDir = options.sharedDir ?? REPO_ROOT;
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, '.cache', 'vm');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const env = { PATH: DEFAULT_PATH, HOME: '/root', SVCPLANE_IN_VM: '1', ...options.env };

  const guestKernel = await findGuestKernel();
  const kernel = await uncompressedKernel(guestKernel, cacheDir);
  const base = await baseInitramfs(guestKernel, [...BOOT_MODULES, ...(options.modules ?? DEFAULT_VM_MODULES)], cacheDir);

  const runDir = await mkdtemp(join(tmpdir(), 'svcplane-vm-'));
  try {
    const files = {
      initrd: join(runDir, 'initrd.cpio'),
      stdoutFile: join(runDir, 'stdout'),
      stderrFile: join(runDir, 'stderr'),
      statusFile: join(runDir, 'status'),
      consoleFile: join(runDir, 'console.log'),
    };
    const script = commandScript(options.command, options.cwd ?? sharedDir, env);
    await writeFile(files.initrd, Buffer.concat([await readFile(base), runArchive(script, sharedDir)]));
    await writeFile(files.statusFile, '');

    const args = qemuArgs({
      ...files,
      kernel,
      accelerator: options.accelerator ?? acceleratorFromEnv() ?? detectAccelerator(),
      memoryMb: options.memoryMb ?? 2048,
      sharedDir,
    });
    const started = performance.now();
    // The guest writes "start" on the status port just before running the command.
    let bootMs: number | undefined;
    const poll = setInterval(() => {
      void stat(files.statusFile).then(
        (info) => {
          if (bootMs === undefined && info.size > 0) bootMs = Math.round(performance.now() - started);
        },
        () => undefined,
      );
    }, 20);
    const exit = await runQemu(args, timeoutMs, options.signal).finally(() => clearInterval(poll));
    const totalMs = Math.round(performance.now() - started);

    const [stdout, stderr, status, consoleLog] = await Promise.all([
      readText(files.stdoutFile),
      readText(files.stderrFile),
      readText(files.statusFile),
      readText(files.consoleFile),
    ]);
    const guestConsole = tail(`${consoleLog}${exit.stderr === '' ? '' : `\n--- qemu stderr ---\n${exit.stderr}`}`);
    if (exit.timedOut) throw new VmTimeoutError(timeoutMs, stdout, stderr, guestConsole);
    if (exit.aborted) throw new VmBootError('VM run aborted', guestConsole);
    const code = /^exit (\d+)$/m.exec(status)?.[1];
    if (code === undefined) {
      throw new VmBootError(`the guest ended (qemu exit ${String(exit.code)}) without reporting an exit code`, guestConsole);
    }
    return { exitCode: Number(code), stdout, stderr, bootMs: bootMs ?? totalMs, totalMs };
  } finally {
    // SVCPLANE_VM_KEEP_RUN=1 keeps the run's files (console.log, initrd) for debugging.
    if (process.env.SVCPLANE_VM_KEEP_RUN === '1') process.stderr.write(`svcplane-vm: run files kept in ${runDir}\n`);
    else await rm(runDir, { recursive: true, force: true });
  }
}

/** The vitest configuration for `*.vm-test.ts` suites. */
export const VM_VITEST_CONFIG = join(REPO_ROOT, 'test', 'vm', 'vitest.vm.config.ts');

export interface VitestInVmOptions extends Omit<VmRunOptions, 'command'> {
  /** Default VM_VITEST_CONFIG. */
  config?: string;
}

/**
 * Runs `vitest run <files>` inside one VM, on the project's Node 24, with SVCPLANE_IN_VM=1.
 * Each node process start costs seconds under TCG: put a whole suite in one call.
 */
export async function runVitestInVm(files: readonly string[], options: VitestInVmOptions = {}): Promise<VmRunResult> {
  const { config, ...vmOptions } = options;
  const bin = join(REPO_ROOT, 'node_modules', '.bin');
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, '.cache', 'vm');
  return runInVm({
    timeoutMs: 300_000,
    ...vmOptions,
    cwd: options.cwd ?? REPO_ROOT,
    command: [join(bin, 'vitest'), 'run', '--config', config ?? VM_VITEST_CONFIG, ...files],
    env: {
      PATH: `${bin}:${DEFAULT_PATH}`,
      SVCPLANE_IN_VM: '1',
      NO_COLOR: '1',
      // V8's code cache, kept across boots in the shared directory: fewer seconds parsing vite.
      NODE_COMPILE_CACHE: join(cacheDir, 'node-compile-cache'),
      ...options.env,
    },
  });
}

/** A result's output, for assertion messages. */
export function describeVmRun(result: VmRunResult): string {
  return `exit code ${result.exitCode}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}
