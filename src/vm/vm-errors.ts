// Errors of the VM test harness. Callers branch on the class.

import { SvcplaneError } from '../util/errors.js';

/** The host lacks something the VM needs (kernel, qemu, busybox, a module), or a bad option. */
export class VmSetupError extends SvcplaneError {
  override readonly code = 'SVCPLANE_VM_SETUP';
}

/** The guest ended without reporting the command's exit code (boot failure, crash). */
export class VmBootError extends SvcplaneError {
  override readonly code = 'SVCPLANE_VM_BOOT_FAILED';
  constructor(
    message: string,
    /** The tail of the guest's kernel console, for diagnosis. */
    readonly console: string,
  ) {
    super(`${message}\n--- guest console (tail) ---\n${console}`);
  }
}

/** The VM outlived its time budget and was killed. */
export class VmTimeoutError extends SvcplaneError {
  override readonly code = 'SVCPLANE_VM_TIMEOUT';
  constructor(
    readonly timeoutMs: number,
    readonly stdout: string,
    readonly stderr: string,
    readonly console: string,
  ) {
    super(
      `VM did not finish within ${timeoutMs} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}` +
        `\n--- guest console (tail) ---\n${console}`,
    );
  }
}
