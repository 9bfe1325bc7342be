// This host's kernel has no IPVS: asking for it must end in iptables mode, said once
// and loudly (log, /healthz, metrics), with traffic flowing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { ManifestDir, serviceDoc, sliceDoc } from '../lib/manifests.js';
import { tally } from './behaviour-fixture.js';

describe('--mode ipvs on a kernel without IPVS', () => {
  let tb: Testbed;
  let agent: AgentProcess;
  const manifests = new ManifestDir();

  beforeAll(async () => {
    tb = await createTestbed({ name: 'ipvs-fallback', pods: [{ name: 'a1', ip: '10.244.1.11' }] });
    await tb.startIdentityServers('a1');
    manifests.write('web.yaml', [serviceDoc({ name: 'web', clusterIP: '10.96.30.1' }), sliceDoc('web', [{ ip: '10.244.1.11' }])]);
    agent = new AgentProcess(tb, ['--mode', 'ipvs', '--manifests', manifests.path, '--node-name', 'node-a', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249']);
    await agent.start();
  });

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await tb?.destroy();
    manifests.destroy();
  });

  it('runs iptables mode, serves traffic, and says why in the log, /healthz and /metrics', async () => {
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
