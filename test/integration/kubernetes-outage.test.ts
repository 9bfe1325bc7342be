// End to end with the real agent on --source kubernetes: the API server goes away for
// a while and comes back. The dataplane must keep serving throughout (no rule flushed),
// and changes made while the agent was blind arrive once the API server is back.
//
// The fake API server runs in this process on 127.0.0.1; the agent runs in the test bed's
// node namespace. Two socat bridges join them through a Unix socket, so every byte stays on
// loopback or in a socket file: node-ns 127.0.0.1:6443 -> socket -> host 127.0.0.1:<port>.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { killChild } from '../../src/testbed/netns.js';
import { createTestbed, type Testbed } from '../../src/testbed/testbed.js';
import { apiNode, apiService, apiSlice, FakeApiServer } from '../lib/fake-apiserver/index.js';
import { eventually, sleep, tally } from './behaviour-fixture.js';

const VIP = '10.96.20.1';

async function natRules(tb: Testbed): Promise<string> {
  const { stdout } = await tb.exec('node', 'iptables-save', ['-t', 'nat']);
  return stdout.split('\n').filter((l) => l.startsWith('-A KUBE-') || l.startsWith(':KUBE-')).map((l) => l.replace(/\[\d+:\d+\]/, '')).sort().join('\n');
}

describe('kubernetes source: API server outage, end to end', () => {
  let tb: Testbed;
  let api: FakeApiServer;
  let agent: AgentProcess;
  let hostBridge: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'svcp-api-'));
  const socket = join(dir, 'api.sock');

  beforeAll(async () => {
    api = new FakeApiServer({ bookmarkIntervalMs: 1000 });
    await api.start();
    api.create('nodes', apiNode('node-a', '192.168.77.1'));
    api.create('services', apiService('web', { clusterIP: VIP }));
    api.create('endpointslices', apiSlice('web-1', 'web', ['10.244.1.11']));
    tb = await createTestbed({ name: 'k8s-outage', pods: [{ name: 'a1', ip: '10.244.1.11' }, { name: 'a2', ip: '10.244.1.12' }] });
    await tb.startIdentityServers('a1');
    await tb.startIdentityServers('a2');
    const port = new URL(api.url).port;
    hostBridge = spawn('socat', [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' });
    await eventually(async () => expect(existsSync(socket)).toBe(true));
    tb.spawn('node', 'socat', ['TCP-LISTEN:6443,bind=127.0.0.1,fork,reuseaddr', `UNIX-CONNECT:${socket}`]);
    agent = new AgentProcess(tb, [
      '--mode', 'iptables', '--source', 'kubernetes', '--master', 'http://127.0.0.1:6443', '--node-name', 'node-a', '--node-ip', tb.nodeIP,
      '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '200ms', '--sync-period', '1s',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
    ]);
    await agent.start();
  });

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    if (hostBridge) await killChild(hostBridge);
    await tb?.destroy();
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves what the API server lists', async () => {
    await eventually(async () => expect(tally(await tb.tcpRequests('node', VIP, 80, 5))).toEqual({ a1: 5 }));
  });

  it('keeps every rule while the API server is down, then catches up', async () => {
    const before = await natRules(tb);
    await api.stop();
    // Several periodic (full) syncs run while the source is blind: nothing may be flushed.
    const syncs = agent.syncCount();
    for (let i = 0; i < 8; i++) {
      await sleep(500);
      expect(tally(await tb.tcpRequests('node', VIP, 80, 3))).toEqual({ a1: 3 });
    }
    expect(agent.syncCount()).toBeGreaterThan(syncs);
    expect(await natRules(tb)).toEqual(before);
    // Health reports the source's outage while the dataplane stays healthy.
    const { stdout } = await tb.exec('node', process.execPath, ['--input-type=module', '-e', "const r = await fetch('http://127.0.0.1:10256/healthz'); console.log(JSON.stringify({ status: r.status, body: await r.json() }));"]);
    const health = JSON.parse(stdout) as { status: number; body: { source: { healthy: boolean; detail: string } } };
    expect(health.status).toBe(200);
    expect(health.body.source.healthy).toBe(false);
    expect(agent.logs.some((r) => Number(r.level) >= 40 && /Kubernetes API/.test(String(r.msg))), agent.tail(15)).toBe(true);

    // Changed while the agent could not see it: a second endpoint.
    api.update('endpointslices', apiSlice('web-1', 'web', ['10.244.1.11', '10.244.1.12']));
    await api.restart();
    await eventually(async () => expect(Object.keys(tally(await tb.tcpRequests('node', VIP, 80, 30))).sort()).toEqual(['a1', 'a2']), 20_000, 250);
  });
});
