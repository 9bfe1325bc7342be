// Loads bpf/build/svcplane_lb.bpf.o for a privileged test without touching the
// host's bpffs: libbpf pins LIBBPF_PIN_BY_NAME maps under /sys/fs/bpf/<name>
// (bpftool's `pinmaps` cannot move them: libbpf refuses "already has pin path"),
// so everything runs in a private mount namespace with its own bpffs there.
// The namespace is held by a `sleep` process; killing it unmounts that bpffs,
// and the programs and maps go away once no cgroup or tc filter holds them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runChecked, type CommandResult } from '../../../src/kernel/exec.js';
import { killChild } from '../../../src/testbed/netns.js';

export const BPF_DIR = fileURLToPath(new URL('../../../bpf', import.meta.url));
export const BPF_OBJECT = `${BPF_DIR}/build/svcplane_lb.bpf.o`;
const BPFFS = '/sys/fs/bpf';
const PROG_DIR = `${BPFFS}/svcp-test`;

export interface MapEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** bpftool's `hex` byte arguments. */
export function hexArgs(bytes: Uint8Array): string[] {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));
}

function bytesFromBpftool(list: unknown): Uint8Array {
  if (!Array.isArray(list)) throw new Error('bpftool map dump: key/value is not an array of bytes');
  return Uint8Array.from(list, (b) => Number.parseInt(String(b), 16));
}

export class BpfSandbox {
  private constructor(private readonly holder: ChildProcess) {}

  /** Starts the mount namespace, mounts a bpffs in it and loads every program of the object. */
  static async start(): Promise<BpfSandbox> {
    await runChecked('make', ['-s', '-C', BPF_DIR]);
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', 'infinity'], { stdio: 'ignore' });
    const sandbox = new BpfSandbox(holder);
    try {
      await sandbox.waitForNamespace();
      await sandbox.run('mount', ['-t', 'bpf', 'bpf', BPFFS]);
      await sandbox.run('bpftool', ['prog', 'loadall', BPF_OBJECT, PROG_DIR]);
    } catch (err) {
      await sandbox.stop();
      throw err;
    }
    return sandbox;
  }

  private async waitForNamespace(): Promise<void> {
    const ours = await readlink('/proc/self/ns/mnt');
    for (let i = 0; i < 200; i++) {
      if (this.holder.exitCode !== null) throw new Error('unshare --mount exited early');
      const theirs = await readlink(`/proc/${this.holder.pid}/ns/mnt`).catch(() => ours);
      if (theirs !== ours) return;
      await sleep(10);
    }
    throw new Error('unshare --mount did not create a mount namespace');
  }

  /** Runs a command in the sandbox's mount namespace (and a test's network namespace). */
  run(file: string, args: readonly string[], netns?: string): Promise<CommandResult> {
    const enter = [`--mount=/proc/${this.holder.pid}/ns/mnt`];
    if (netns !== undefined) enter.push(`--net=/run/netns/${netns}`);
    return runChecked('nsenter', [...enter, '--', file, ...args]);
  }

  progPath(name: string): string {
    return `${PROG_DIR}/${name}`;
  }

  mapPath(name: string): string {
    return `${BPFFS}/${name}`;
  }

  async updateMap(name: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.run('bpftool', ['map', 'update', 'pinned', this.mapPath(name), 'key', 'hex', ...hexArgs(key), 'value', 'hex', ...hexArgs(value)]);
  }

  async deleteMapEntry(name: string, key: Uint8Array): Promise<void> {
    await this.run('bpftool', ['map', 'delete', 'pinned', this.mapPath(name), 'key', 'hex', ...hexArgs(key)]);
  }

  async dumpMap(name: string): Promise<MapEntry[]> {
    const { stdout } = await this.run('bpftool', ['-j', 'map', 'dump', 'pinned', this.mapPath(name)]);
    const entries: unknown = JSON.parse(stdout);
    if (!Array.isArray(entries)) throw new Error(`bpftool map dump ${name}: not a JSON array`);
    return entries.map((e: { key?: unknown; value?: unknown }) => ({ key: bytesFromBpftool(e.key), value: bytesFromBpftool(e.value) }));
  }

  /** Ends the mount namespace; pins vanish with it. */
  async stop(): Promise<void> {
    await killChild(this.holder);
  }
}
