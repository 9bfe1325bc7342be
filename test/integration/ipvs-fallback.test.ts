// --mode ipvs on whatever kernel runs the tests: where it has no IPVS, the agent must end
// in iptables mode, said once and loudly (log, /healthz, metrics); where it has IPVS (a
// stock Debian kernel, the VM: test/vm/ipvs-present.vm-test.ts runs this file there), IPVS
// must be used, with no fallback. Traffic flows either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { kernelHasIpvs } from '../lib/ipvs-kernel.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { tally } from './behaviour-fixture.js';

const hasIpvs = kernelHasIpvs();

describe(`--mode ipvs on a kernel ${hasIpvs ? 'with' : 'without'} IPVS`, () => {
  let tb: Testbed;
  let agent: AgentProcess;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    tb = await createTestbed({ name: 'ipvs-fallback', pods: [{ name: 'a1', ip: '10.244.1.11' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [serviceDoc({ name: 'web', clusterIP: '10.96.30.1' }), sliceDoc('web', [{ ip: '10.244.1.11' }])]);
    agent = new AgentProcess(tb, ['--mode', 'ipvs', '--manifests', manifests.path, '--node-name', 'node-a', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249']);
    await agent.start(150_000); // the VM (emulated, one vCPU) starts the agent slowly
  }, 240_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
  });

  it.runIf(hasIpvs)('uses IPVS: no fallback, a virtual server for the service, traffic through it', async () => {
    expect(tally(await tb.tcpRequests('node', '10.96.30.1', 80, 5))).toEqual({ a1: 5 });
    expect(agent.logs.filter((r) => r.tried === 'ipvs' || r.using === 'iptables')).toEqual([]);
    expect(agent.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === 'ipvs')).toBe(true);
    const { stdout: table } = await runChecked('ipvsadm', ['-Ln', '-t', '10.96.30.1:80'], { netns: tb.nodeNs });
    expect(table).toMatch(/->\s+10\.244\.1\.11:8080/);
    const script = `const h = await (await fetch('http://127.0.0.1:10249/healthz')).json(); const m = await (await fetch('http://127.0.0.1:10249/metrics')).text(); console.log(JSON.stringify({ h, m }));`;
    const { stdout } = await tb.exec('node', process.execPath, ['--input-type=module', '-e', script]);
    const { h, m } = JSON.parse(stdout) as { h: { mode: { requested: string; using: string; fallbacks?: unknown[] } }; m: string };
    expect(h.mode).toEqual({ requested: 'ipvs', using: 'ipvs' });
    expect(m).toMatch(/svcplane_proxy_mode\{mode="ipvs",requested="ipvs"\} 1/);
    expect(m).not.toMatch(/svcplane_proxy_mode_fallbacks_total\{[^}]*\} [1-9]/);
  });

  it.runIf(!hasIpvs)('runs iptables mode, serves traffic, and says why in the log, /healthz and /metrics', async () => {
    expect(tally(await tb.tcpRequests('node', '10.96.30.1', 80, 5))).toEqual({ a1: 5 });
    const warnings = agent.logs.filter((r) => Number(r.level) === 40 && r.tried === 'ipvs');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ requested: 'ipvs', using: 'iptables' });
    // The kernel's own answer: the IPVS generic netlink family does not exist here.
    expect(String(warnings[0]?.reason)).toMatch(/no IPVS.*ENOENT/);
    expect(agent.logs.some((r) => r.msg === 'synced proxy rules' && r.mode === 'iptables')).toBe(true);

    const script = `const h = await (await fetch('http://127.0.0.1:10249/healthz')).json(); const m = await (await fetch('http://127.0.0.1:10249/metrics')).text(); console.log(JSON.stringify({ h, m }));`;
    const { stdout } = await tb.exec('node', process.execPath, ['--input-type=module', '-e', script]);
    const { h, m } = JSON.parse(stdout) as { h: { mode: { requested: string; using: string; fallbacks: unknown[] } }; m: string };
    expect(h.mode).toMatchObject({ requested: 'ipvs', using: 'iptables', fallbacks: [{ mode: 'ipvs' }] });
    expect(m).toMatch(/svcplane_proxy_mode\{mode="iptables",requested="ipvs"\} 1/);
    expect(m).toMatch(/svcplane_proxy_mode_fallbacks_total\{mode="iptables",requested="ipvs"\} 1/);
  });
});
