// Privileged: boots the real-kernel VM (see harness.ts) and checks what the IPVS tests rely on:
// IPVS and a dummy interface work, namespaces work, the project's Node 24 runs, the host's
// files are visible read-only and the shared directory read-write, and the guest has no NIC.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type VmRunResult, describeVmRun, runInVm } from '../../src/vm/harness.js';
import { findGuestKernel } from '../../src/vm/guest-kernel.js';
import { VmTimeoutError } from '../../src/vm/vm-errors.js';

const execFileAsync = promisify(execFile);
const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
const SCRATCH_ROOT = join(REPO_ROOT, '.cache', 'vm');

// Each section starts with a "== name" line, so that assertions look at one section each.
const SMOKE_SCRIPT = `
set -e
echo "== kernel"; uname -r
echo "== links"; ls /sys/class/net
echo "== ipvs"
ipvsadm -A -t 10.96.0.1:80 -s rr
ipvsadm -a -t 10.96.0.1:80 -r 10.244.1.2:8080 -m
ipvsadm -Ln
echo "== dummy"
ip link add kube-ipvs0 type dummy
ip addr add 10.96.0.1/32 dev kube-ipvs0
ip -o addr show dev kube-ipvs0
echo "== netns"
ip netns add svcp-vm-smoke
ip -n svcp-vm-smoke -o link show
ip netns del svcp-vm-smoke
echo "== node"; "$NODE_BIN" -e 'console.log(process.version)'
echo "== env"; echo "SVCPLANE_IN_VM=$SVCPLANE_IN_VM SMOKE_VALUE=$SMOKE_VALUE"
echo "== pwd"; pwd
echo "== files"
echo written-by-the-guest > "$SCRATCH/from-guest"
touch /etc/svcp-vm-smoke && echo "etc writable"
`;

function section(stdout: string, name: string): string {
  const match = new RegExp(`^== ${name}\\n([\\s\\S]*?)(?=^== |(?![\\s\\S]))`, 'm').exec(stdout);
  if (match === null) throw new Error(`no "${name}" section in:\n${stdout}`);
  return match[1] ?? '';
}

describe('the real-kernel VM', () => {
  let scratch = '';
  let run: VmRunResult;

  beforeAll(async () => {
    // A clean clone has no .cache yet.
    await mkdir(SCRATCH_ROOT, { recursive: true });
    scratch = await mkdtemp(join(SCRATCH_ROOT, 'smoke-'));
    run = await runInVm({
      command: ['sh', '-c', SMOKE_SCRIPT],
      cwd: scratch,
      env: { NODE_BIN: NODE, SCRATCH: scratch, SMOKE_VALUE: "it's \"quoted\" $HOME" },
      timeoutMs: 120_000,
    });
  }, 180_000);

  afterAll(async () => {
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  it('runs the script to the end', () => {
    expect(run.exitCode, describeVmRun(run)).toBe(0);
    expect(run.bootMs).toBeGreaterThan(0);
    expect(run.bootMs).toBeLessThan(run.totalMs);
  });

  it('boots the installed Debian kernel, whatever the host runs', async () => {
    expect(section(run.stdout, 'kernel').trim()).toBe((await findGuestKernel()).version);
  });

  it('gives the guest no network interface but loopback', () => {
    expect(section(run.stdout, 'links').trim().split(/\s+/)).toEqual(['lo']);
  });

  it('programs an IPVS virtual server with a masqueraded real server', () => {
    const table = section(run.stdout, 'ipvs');
    expect(table).toMatch(/^TCP {2}10\.96\.0\.1:80 rr\s*$/m);
    expect(table).toMatch(/^ {2}-> 10\.244\.1\.2:8080\s+Masq\s+1\s+0\s+0\s*$/m);
  });

  it('creates the dummy interface IPVS mode binds service addresses to', () => {
    expect(section(run.stdout, 'dummy')).toMatch(/kube-ipvs0\s+inet 10\.96\.0\.1\/32/);
  });

  it('creates network namespaces', () => {
    expect(section(run.stdout, 'netns').trim().split('\n')).toHaveLength(1);
    expect(section(run.stdout, 'netns')).toMatch(/^1: lo:/);
  });

  it("runs the project's Node 24", () => {
    expect(section(run.stdout, 'node').trim()).toMatch(/^v24\./);
  });

  it('passes the environment and working directory as given, unparsed', () => {
    expect(section(run.stdout, 'env').trim()).toBe(`SVCPLANE_IN_VM=1 SMOKE_VALUE=it's "quoted" $HOME`);
    expect(section(run.stdout, 'pwd').trim()).toBe(scratch);
  });

  it('writes through to the shared directory, and only there', async () => {
    expect(await readFile(join(scratch, 'from-guest'), 'utf8')).toBe('written-by-the-guest\n');
    expect(section(run.stdout, 'files')).toContain('etc writable');
    expect(existsSync('/etc/svcp-vm-smoke')).toBe(false);
  });
});

describe('runInVm', () => {
  it('returns a failing exit code with stdout and stderr apart', async () => {
    const run = await runInVm({ command: ['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 7'], timeoutMs: 120_000 });
    expect(run).toMatchObject({ exitCode: 7, stdout: 'to-stdout\n', stderr: 'to-stderr\n' });
  }, 180_000);

  it('kills the VM at its deadline and leaves no qemu behind', async () => {
    // A shared directory of its own marks this run's qemu on the process list.
    await mkdir(SCRATCH_ROOT, { recursive: true });
    const marker = await mkdtemp(join(SCRATCH_ROOT, 'timeout-'));
    try {
      const error = await runInVm({ command: ['sleep', '600'], sharedDir: marker, timeoutMs: 3_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VmTimeoutError);
      const { stdout } = await execFileAsync('ps', ['-eo', 'pid,args']);
      expect(stdout.split('\n').filter((line) => line.includes(marker))).toEqual([]);
    } finally {
      await rm(marker, { recursive: true, force: true });
    }
  }, 60_000);
});
