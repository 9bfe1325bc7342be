// Privileged: runs `svcplane demo` end to end from the build, as `make demo` does (every mode
// this machine can run), and checks that each mode passes, shows every my-service endpoint and
// both Ingress backends answering, that IPVS is run or skipped as the kernel allows, and that
// nothing is left behind.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { listNetns } from '../src/testbed/netns.js';
import { cleanupStaleTestbeds } from '../src/testbed/testbed.js';
import { kernelHasIpvs } from './lib/ipvs-kernel.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SELECTOR_EXAMPLE = fileURLToPath(new URL('../examples/selector.yaml', import.meta.url));
const INGRESS_EXAMPLE = fileURLToPath(new URL('../examples/ingress.yaml', import.meta.url));
/** Four or five modes, each with its own agent start: minutes on a loaded machine. */
const DEMO_TIMEOUT_MS = 420_000;

interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly pgid: number;
}

/** Runs the demo in its own process group, so that any process it leaves behind can be found. */
function runDemo(args: readonly string[] = []): Promise<DemoRun> {
  const child = spawn(process.execPath, [CLI, 'demo', ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const pgid = child.pid ?? 0;
  const timer = setTimeout(() => child.kill('SIGINT'), DEMO_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pgid });
    });
  });
}

/** Whether any process is still in the process group (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** An example's endpoint addresses, read straight from the file (not through svcplane). */
function endpointsOf(file: string): string[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const slice = docs.find((d) => d.kind === 'EndpointSlice') as { endpoints: { addresses: string[] }[] } | undefined;
  return slice?.endpoints.flatMap((e) => e.addresses) ?? [];
}

describe('svcplane demo', () => {
  let run: DemoRun | undefined;

  afterAll(async () => {
    // Only if the demo itself failed to clean up: never leave namespaces to later tests.
    await cleanupStaleTestbeds('demo');
    if (run && groupAlive(run.pgid)) process.kill(-run.pgid, 'SIGKILL');
  });

  it('refuses an unknown --mode by name before building anything', async () => {
    const r = await runDemo(['--mode', 'kernelspace']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--mode: expected all or one of iptables, nftables, ipvs, ebpf, userspace, got "kernelspace"');
    expect(r.stdout).not.toContain('Test bed');
  });

  it('runs every mode from the build, each passing the same checks, compares them, and cleans up', { timeout: DEMO_TIMEOUT_MS + 30_000 }, async () => {
    expect(existsSync(CLI), `${CLI} is missing: build first (make build; make test does it)`).toBe(true);
    run = await runDemo();
    const output = `${run.stdout}\n${run.stderr}`;
    expect({ code: run.code, signal: run.signal }, output).toEqual({ code: 0, signal: null });
    const ipvs = kernelHasIpvs();
    const ran = ['iptables', 'nftables', ...(ipvs ? ['ipvs'] : []), 'ebpf', 'userspace'];
    expect(run.stdout).toContain(`checks passed in ${ran.length} modes (${ran.join(', ')})`);

    const myService = endpointsOf(SELECTOR_EXAMPLE);
    const web = endpointsOf(INGRESS_EXAMPLE);
    expect(myService).toHaveLength(3);
    expect(web).toHaveLength(2);
    for (const mode of ran) {
      const part = run.stdout.split(/^=== /m).find((p) => p.startsWith(`${mode} `)) ?? '';
      expect(part, `no section for ${mode}`).toContain(`svcplane run --mode ${mode} `);
      const sections = part.split('\n\n');
      // Every endpoint appears in its table with a non-zero answer count.
      for (const [heading, ips, verdict] of [['default/my-service ', myService, 'OK: 60/60 answered'], ['Ingress default/web ', web, 'OK: 20/20 answered']] as const) {
        const section = sections.find((s) => s.startsWith(heading));
        expect(section, `${mode}: no ${heading} in:\n${part}`).toBeDefined();
        for (const ip of ips) {
          const row = section?.split('\n').find((line) => line.includes(` ${ip} `));
          expect(row, `${mode}: no row for ${ip} in:\n${section}`).toBeDefined();
          expect(Number(row?.trim().split(/\s+/)[3]), row).toBeGreaterThan(0);
        }
        expect(section).toContain(verdict);
      }
      expect(part).toMatch(/^Stopped +agent exit 0;/m);
      // Each agent after the first removed the previous mode's dataplane (checked in the kernel by the demo).
      const before = ran[ran.indexOf(mode) - 1];
      if (before !== undefined) expect(part).toContain(`Switched   nothing of the ${before} mode is left in the kernel`);
      expect(run.stdout).toMatch(new RegExp(`^  ${mode} +passed +[\\d.]+ s +4/4 +140/140 +4/4 +20/20 +\\d+ MB$`, 'm'));
    }
    if (!ipvs) expect(run.stdout).toMatch(/^ {2}ipvs: skipped: the kernel has no IPVS/m);

    // The iptables section shows my-service's DNAT rules, and no JSON log noise reached stdout.
    for (const ip of myService) expect(run.stdout).toContain(`--to-destination ${ip}:9376`);
    expect(run.stdout).not.toMatch(/^\s*\{"level"/m);

    expect((await listNetns()).filter((ns) => ns.startsWith('svcp-demo'))).toEqual([]);
    expect(existsSync('/sys/fs/bpf/svcp-demo'), 'the eBPF pins are left behind').toBe(false);
    expect(groupAlive(run.pgid), 'processes of the demo are still running').toBe(false);
  });
});
