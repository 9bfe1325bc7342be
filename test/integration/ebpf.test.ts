// The behaviour suite in eBPF mode: the node's and pods' processes run in a test cgroup that
// the socket programs attach to; the client namespace (the outside world) reaches NodePorts,
// external and load-balancer IPs through the tc programs on the node's external interface.
//
// Everything is scratch: the agent pins under a pin root of this test process's
// own (never /sys/fs/bpf/svcplane, which a node running svcplane serves from),
// attaches to the test cgroup and the test namespace's interface, and the final
// cleanup runs in a network namespace of its own (unshare -n), where detaching
// tc filters from "every interface" reaches nothing of the host's.
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PIN_ROOT } from '../../src/backends/ebpf/ebpf-attach.js';
import { runChecked } from '../../src/kernel/exec.js';
import { cliEntry } from '../../src/testbed/agent-process.js';
import type { Testbed } from '../../src/testbed/testbed.js';
import { behaviourSuite } from './behaviour-suite.js';

const PIN_ROOT = `/sys/fs/bpf/svcp-ebpf-test-${process.pid}`;

/** The real pin root's entries (or absent), to check that the test leaves it as it found it. */
function listing(dir: string): string[] | 'absent' {
  return existsSync(dir) ? readdirSync(dir).sort() : 'absent';
}
const realPinRootBefore = listing(DEFAULT_PIN_ROOT);

interface MapDump {
  readonly key: readonly string[];
  readonly value: readonly string[];
}

async function dumpMap(name: string): Promise<MapDump[]> {
  const { stdout } = await runChecked('bpftool', ['-j', 'map', 'dump', 'pinned', `${PIN_ROOT}/${name}`]);
  return JSON.parse(stdout) as MapDump[];
}

behaviourSuite({
  mode: 'ebpf',
  localhostNodePorts: 'refused',
  clusterIPFromOutside: false,
  testbed: { cgroup: true },
  agentArgs: (tb: Testbed) => ['--ebpf-cgroup-path', tb.cgroupPath as string, '--ebpf-interfaces', tb.externalInterface, '--ebpf-pin-root', PIN_ROOT],
  ruleMetric: /svcplane_kernel_objects\{mode="ebpf",kind="services"\} [1-9]/,
  async snapshot() {
    // Services, backends and reverse NAT: ids are recovered after a restart, so the bytes must match.
    const out: string[] = [];
    for (const map of ['svcp_lb4_svc', 'svcp_lb4_be', 'svcp_lb4_rnat', 'svcp_lb4_srcr', 'svcp_lb6_svc', 'svcp_lb6_be', 'svcp_lb6_rnat', 'svcp_lb6_srcr']) {
      for (const e of await dumpMap(map)) out.push(`${map} ${e.key.join('')} ${e.value.join('')}`);
    }
    return out.sort().join('\n');
  },
  async breakRules() {
    // Delete every service entry at slot 0 by hand (the entries a lookup starts from).
    for (const e of await dumpMap('svcp_lb4_svc')) {
      const slot = Number.parseInt(`${e.key[7]}${e.key[6]}`.replace(/0x/g, ''), 16);
      if (slot === 0) await runChecked('bpftool', ['map', 'delete', 'pinned', `${PIN_ROOT}/svcp_lb4_svc`, 'key', 'hex', ...e.key.map((b) => b.replace(/^0x/, ''))]);
    }
  },
});

describe('svcplane maps', () => {
  it('the agent pinned its maps and links under the scratch pin root, and left the real one as it was', () => {
    expect(readdirSync(PIN_ROOT)).toEqual(expect.arrayContaining(['svcp_lb4_svc', 'svcp_lb4_be', 'links']));
    expect(readdirSync(`${PIN_ROOT}/links`).length).toBeGreaterThan(0);
    expect(listing(DEFAULT_PIN_ROOT)).toEqual(realPinRootBefore);
  });

  it('prints the pinned maps decoded: a frontend per line with the backends its slots resolve to', async () => {
    const { stdout } = await runChecked(process.execPath, [cliEntry(), 'maps', '--pin-root', PIN_ROOT]);
    expect(stdout).toMatch(/^TCP 10\.96\.10\.1:80 #\d+ cluster-ip -> 10\.244\.1\.11:8080 \[local\], 10\.244\.1\.12:8080 \[local\], 10\.244\.2\.11:8080$/m);
    expect(stdout).toMatch(/^TCP 10\.96\.10\.9:80 #\d+ cluster-ip -> \(no endpoints: rejected\)$/m);
    expect(stdout).toMatch(/^TCP 192\.168\.77\.1:30082 #\d+ node-port,two-scopes -> 10\.244\.1\.11:8080 \[local\]$/m);
    expect(stdout).not.toMatch(/missing|no reverse NAT/);
  });
});

// The agent leaves its dataplane up when it stops (as it must); the test removes it: its
// scratch pins and the links they hold, from a namespace of its own (see the top).
afterAll(async () => {
  await runChecked('unshare', ['--net', '--', process.execPath, cliEntry(), 'cleanup', '--mode', 'ebpf', '--ebpf-pin-root', PIN_ROOT]);
  expect(existsSync(PIN_ROOT)).toBe(false);
  expect(listing(DEFAULT_PIN_ROOT)).toEqual(realPinRootBefore);
});
