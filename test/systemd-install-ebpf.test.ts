// The systemd install runs the eBPF mode: install.sh stages the BPF object where the
// installed dist/ looks for it, and the agent started from the staged tree, with no more
// capabilities than the unit's CapabilityBoundingSet (setpriv), runs `--mode ebpf` for
// real in a test bed: no fallback, traffic through its programs. Everything is scratch:
// the staging directory, the test bed's namespaces, cgroup and interface, the pin root.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../src/kernel/exec.js';
import { AgentProcess } from '../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from './lib/manifests.js';
import { tally } from './integration/behaviour-fixture.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const UNIT = readFileSync(join(ROOT, 'deploy', 'systemd', 'svcplane.service'), 'utf8');
const PIN_ROOT = `/sys/fs/bpf/svcp-sysd-ebpf-test-${process.pid}`;

/** The unit's CapabilityBoundingSet as setpriv's --bounding-set argument. */
function boundingSet(): string {
  const line = /^CapabilityBoundingSet=(.*)$/m.exec(UNIT)?.[1];
  if (line === undefined) throw new Error('the unit has no CapabilityBoundingSet');
  return ['-all', ...line.trim().split(/\s+/).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

describe('the systemd install in eBPF mode', () => {
  let destdir = '';
  let tb: Testbed | undefined;
  let agent: AgentProcess | undefined;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    destdir = mkdtempSync(join(tmpdir(), 'svcp-install-ebpf-'));
    await run('bash', [join(ROOT, 'deploy', 'systemd', 'install.sh')], { env: { ...process.env, DESTDIR: destdir }, timeout: 170_000 });
    tb = await createTestbed({ name: 'sysd-ebpf', cgroup: true, pods: [{ name: 'a1', ip: '10.244.1.11' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [serviceDoc({ name: 'web', clusterIP: '10.96.40.1' }), sliceDoc('web', [{ ip: '10.244.1.11' }])]);
    const installed = join(destdir, 'opt', 'svcplane', 'bin', 'svcplane');
    agent = new AgentProcess(tb, [
      '--mode', 'ebpf', '--manifests', manifests.path, '--node-name', 'node-a', '--node-ip', tb.nodeIP,
      '--ebpf-cgroup-path', tb.cgroupPath as string, '--ebpf-interfaces', tb.externalInterface, '--ebpf-pin-root', PIN_ROOT,
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
    ], { file: 'setpriv', args: ['--bounding-set', boundingSet(), '--', installed] });
    await agent.start(60_000);
  }, 240_000);

  afterAll(async () => {
    try {
      await agent?.kill('SIGTERM');
      await tb?.destroy();
    } finally {
      manifests.destroy();
      // The agent leaves its dataplane pinned; removed from a namespace of its own (see ebpf.test.ts).
      if (existsSync(PIN_ROOT)) await runChecked('unshare', ['--net', '--', join(destdir, 'opt', 'svcplane', 'bin', 'svcplane'), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
      rmSync(destdir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stages the BPF object where the installed dist/ looks for it', () => {
    expect(existsSync(join(destdir, 'opt', 'svcplane', 'bpf', 'build', 'svcplane_lb.bpf.o'))).toBe(true);
  });

  it('runs --mode ebpf from the installed tree with only the unit\'s capabilities: no fallback, traffic flows', async () => {
    expect(agent?.logs.filter((r) => r.tried !== undefined)).toEqual([]);
    expect(agent?.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === 'ebpf')).toBe(true);
    expect(tally(await (tb as Testbed).tcpRequests('node', '10.96.40.1', 80, 5))).toEqual({ a1: 5 });
    expect(existsSync(join(PIN_ROOT, 'svcp_lb4_svc'))).toBe(true);
  });
});
