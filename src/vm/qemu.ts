// qemu-system-x86_64 for one guest run: the accelerator, the command line, and a process that
// cannot outlive its time budget.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { HOST_ROOT_TAG, PORT_STATUS, PORT_STDERR, PORT_STDOUT, SHARED_DIR_TAG } from './guest-init.js';
import { VmSetupError } from './vm-errors.js';

export type Accelerator = 'kvm' | 'tcg';

/**
 * KVM when it can run a stock kernel, else TCG. /dev/kvm may come from kvm_pvm, a paravirtual
 * KVM that only runs patched guests: a stock kernel hangs there without a word.
 */
export function detectAccelerator(): Accelerator {
  if (!existsSync('/dev/kvm') || existsSync('/sys/module/kvm_pvm')) return 'tcg';
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo) ? 'kvm' : 'tcg';
}

export interface QemuRun {
  kernel: string;
  initrd: string;
  accelerator: Accelerator;
  memoryMb: number;
  sharedDir: string;
  stdoutFile: string;
  stderrFile: string;
  statusFile: string;
  consoleFile: string;
}

/** qemu's option syntax doubles commas inside values. */
function optionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function qemuArgs(run: QemuRun): string[] {
  const ports: [string, string][] = [
    [PORT_STDOUT, run.stdoutFile],
    [PORT_STDERR, run.stderrFile],
    [PORT_STATUS, run.statusFile],
  ];
  return [
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
    ...(run.accelerator === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    // One vCPU: under TCG a second one makes the boot several times slower.
    ...['-smp', '1', '-m', String(run.memoryMb)],
    ...['-kernel', run.kernel, '-initrd', run.initrd],
    ...['-append', 'console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init'],
    // No NIC: nothing the guest sends can leave it.
    ...['-nic', 'none'],
    ...[
      '-fsdev',
      `local,id=${HOST_ROOT_TAG},path=/,security_model=none,readonly=on,multidevs=remap`,
      '-device',
      `virtio-9p-pci,fsdev=${HOST_ROOT_TAG},mount_tag=${HOST_ROOT_TAG}`,
    ],
    ...[
      '-fsdev',
      `local,id=${SHARED_DIR_TAG},path=${optionValue(run.sharedDir)},security_model=none,multidevs=remap`,
      '-device',
      `virtio-9p-pci,fsdev=${SHARED_DIR_TAG},mount_tag=${SHARED_DIR_TAG}`,
    ],
    ...['-device', 'virtio-serial-pci'],
    ...ports.flatMap(([name, file]) => [
      '-chardev',
      `file,id=${name},path=${optionValue(file)}`,
      '-device',
      `virtserialport,chardev=${name},name=${name}`,
    ]),
    ...['-serial', `file:${run.consoleFile}`],
  ];
}

export interface QemuExit {
  /** qemu's exit code, or null when killed by a signal. */
  code: number | null;
  timedOut: boolean;
  aborted: boolean;
  /** The tail of qemu's own stderr (its complaints about options, devices, files). */
  stderr: string;
}

/**
 * Runs qemu under coreutils' `timeout`, which kills it even if this process dies first; and
 * kills the whole process group itself on its own timer or on `signal`.
 */
export function runQemu(args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<QemuExit> {
  return new Promise((resolve, reject) => {
    const seconds = Math.ceil(timeoutMs / 1000) + 5;
    const child = spawn('timeout', ['--kill-after=5', String(seconds), 'qemu-system-x86_64', ...args], {
      detached: true, // its own process group, killed as a whole
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    let timedOut = false;
    let aborted = false;
    const killGroup = (): void => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    child.on('error', (cause) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(new VmSetupError(`cannot start qemu under timeout: ${cause.message}`, { cause }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // `timeout` exits 124 when it had to stop qemu.
      if (code === 124 || code === 137) timedOut = true;
      resolve({ code, timedOut, aborted, stderr });
    });
  });
}
