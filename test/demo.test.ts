// Privileged: runs `svcplane demo` end to end from the build, as `make demo` does, and
// checks that it passes, shows every my-service endpoint answering, and leaves nothing behind.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { listNetns } from '../src/testbed/netns.js';
import { cleanupStaleTestbeds } from '../src/testbed/testbed.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SELECTOR_EXAMPLE = fileURLToPath(new URL('../examples/selector.yaml', import.meta.url));
const DEMO_TIMEOUT_MS = 50_000;

interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly pgid: number;
}

/** Runs the demo in its own process group, so that any process it leaves behind can be found. */
function runDemo(): Promise<DemoRun> {
  const child = spawn(process.execPath, [CLI, 'demo'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** my-service's endpoint addresses, read straight from the example (not through svcplane). */
function myServiceEndpoints(): string[] {
  const docs = parseAllDocuments(readFileSync(SELECTOR_EXAMPLE, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
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

  it('runs from the build, passes its traffic checks and cleans up', async () => {
    expect(existsSync(CLI), `${CLI} is missing: build first (make build; make test does it)`).toBe(true);
    run = await runDemo();
    const output = `${run.stdout}\n${run.stderr}`;
    expect({ code: run.code, signal: run.signal }, output).toEqual({ code: 0, signal: null });
    expect(run.stdout).toContain('All 3 traffic checks passed');

    // Every endpoint of my-service appears in its table with a non-zero answer count.
    const section = run.stdout.split('\n\n').find((s) => s.startsWith('default/my-service '));
    expect(section, output).toBeDefined();
    const endpoints = myServiceEndpoints();
    expect(endpoints).toHaveLength(3);
    for (const ip of endpoints) {
      const row = section?.split('\n').find((line) => line.includes(` ${ip} `));
      expect(row, `no row for ${ip} in:\n${section}`).toBeDefined();
      const answers = Number(row?.trim().split(/\s+/)[3]);
      expect(answers, row).toBeGreaterThan(0);
    }
    expect(section).toContain('OK: 60/60 answered');

    // The rules excerpt shows my-service's DNAT rules, and no JSON log noise reached stdout.
    for (const ip of endpoints) expect(run.stdout).toContain(`--to-destination ${ip}:9376`);
    expect(run.stdout).not.toMatch(/^\s*\{"level"/m);

    expect((await listNetns()).filter((ns) => ns.startsWith('svcp-demo'))).toEqual([]);
    expect(groupAlive(run.pgid), 'processes of the demo are still running').toBe(false);
  });
});
