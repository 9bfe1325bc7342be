// /healthz while the node is being deleted (issue 15, item 1), end to end: the real agent
// (`svcplane run --source kubernetes`) against the fake API server, both on 127.0.0.1, its
// health server read over HTTP. kube-proxy's healthz fails while its Node object has a
// deletionTimestamp or the cluster autoscaler's ToBeDeletedByClusterAutoscaler taint, so load
// balancers drain the node before it goes; /livez does not (the proxy itself is fine).
//
// The agent runs in userspace mode without redirects: it opens listeners on 127.0.0.1 only and
// touches no kernel table, so this needs no namespace and no root.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../src/testbed/agent-process.js';
import { killChild } from '../src/testbed/netns.js';
import { eventually as within } from './lib/eventually.js';
import { apiNode, apiService, apiSlice, FakeApiServer, type Json } from './lib/fake-apiserver/index.js';

const NODE = 'node-a';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function get(url: string): Promise<Answer> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls until `check` passes (each check is a real HTTP request to the agent). */
// The agent reacts through a watch and a sync: give it 20 s on a loaded machine.
const eventually = (check: () => Promise<void>, timeoutMs = 20_000): Promise<void> => within(check, timeoutMs);

function leaving(patch: { deletionTimestamp?: string; taint?: string }): Json {
  const node = apiNode(NODE, '127.0.0.1');
  const metadata = node['metadata'] as Json;
  if (patch.deletionTimestamp) metadata['deletionTimestamp'] = patch.deletionTimestamp;
  if (patch.taint) node['spec'] = { ...(node['spec'] as Json), taints: [{ key: patch.taint, value: '1764838800', effect: 'NoSchedule' }] };
  return node;
}

describe('/healthz follows the Node object\'s deletion, as kube-proxy\'s does', () => {
  let api: FakeApiServer;
  let agent: ChildProcess;
  let logs = '';
  let healthz: string;
  let metricsHealthz: string;

  beforeAll(async () => {
    api = new FakeApiServer({ bookmarkIntervalMs: 1000 });
    await api.start();
    api.create('nodes', apiNode(NODE, '127.0.0.1'));
    api.create('services', apiService('web', { clusterIP: '10.96.40.1' }));
    api.create('endpointslices', apiSlice('web-1', 'web', ['127.0.0.1']));
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    healthz = `http://127.0.0.1:${healthPort}`;
    metricsHealthz = `http://127.0.0.1:${metricsPort}/healthz`;
    agent = spawn(process.execPath, [
      cliEntry(), 'run', '--source', 'kubernetes', '--master', api.url, '--node-name', NODE, '--node-ip', '127.0.0.1',
      '--mode', 'userspace', '--userspace-no-redirect', '--min-sync-period', '100ms', '--sync-period', '2s',
      '--healthz-bind-address', `127.0.0.1:${healthPort}`, '--metrics-bind-address', `127.0.0.1:${metricsPort}`, '--log-format', 'json',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
    await eventually(async () => expect((await get(`${healthz}/healthz`)).status, logs.slice(-2000)).toBe(200), 45_000);
  }, 60_000);

  afterAll(async () => {
    if (agent) await killChild(agent);
    await api?.stop();
  });

  it('200 with nodeEligible while the node stays', async () => {
    expect(await get(`${healthz}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok', nodeEligible: true } });
  });

  it('503 while the cluster autoscaler\'s ToBeDeletedByClusterAutoscaler taint is on the node, 200 once it is taken off', async () => {
    api.update('nodes', leaving({ taint: 'ToBeDeletedByClusterAutoscaler' }));
    await eventually(async () => {
      expect(await get(`${healthz}/healthz`)).toMatchObject({ status: 503, body: { reason: 'node is tainted ToBeDeletedByClusterAutoscaler' } });
    });
    api.update('nodes', leaving({ taint: 'node.kubernetes.io/unschedulable' }));
    await eventually(async () => expect((await get(`${healthz}/healthz`)).status).toBe(200));
  });
  it('503 with the reason once the Node has a deletionTimestamp; /livez stays 200; still 503 once the Node is gone', async () => {
    // What a watch delivers when the node is deleted while finalizers hold it.
    api.update('nodes', leaving({ deletionTimestamp: '2026-12-04T09:00:00Z' }));
    await eventually(async () => {
      expect(await get(`${healthz}/healthz`)).toMatchObject({ status: 503, body: { status: 'unhealthy', reason: 'node is being deleted', nodeEligible: false } });
    });
    expect((await get(`${healthz}/livez`)).status).toBe(200);
    // The detail on the metrics address says when.
    expect(await get(metricsHealthz)).toMatchObject({ status: 503, body: { node: { eligible: false, deletionTimestamp: '2026-12-04T09:00:00.000Z' } } });
    // Syncs go on meanwhile: the dataplane keeps serving while load balancers drain the node.
    const syncs = (logs.match(/"msg":"synced proxy rules"/g) ?? []).length;
    await eventually(async () => expect((logs.match(/"msg":"synced proxy rules"/g) ?? []).length).toBeGreaterThan(syncs));
    expect((await get(`${healthz}/healthz`)).status).toBe(503);
    expect(logs).toMatch(/"msg":"\/healthz answers 503: the node is leaving"/);

    // The Node goes: kube-proxy judges the object in the delete event, which still had its
    // deletionTimestamp, so /healthz stays 503 until the agent goes with its node.
    api.delete('nodes', undefined, NODE);
    const after = (logs.match(/"msg":"synced proxy rules"/g) ?? []).length;
    await eventually(async () => expect((logs.match(/"msg":"synced proxy rules"/g) ?? []).length).toBeGreaterThan(after));
    expect(await get(`${healthz}/healthz`)).toMatchObject({ status: 503, body: { reason: 'node is being deleted' } });
  });

});
