// Unreadable manifest paths: at start-up nothing is delivered (so the agent
// programs nothing and /healthz says why) until every path can be read; a path
// lost later keeps what it defined.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProxyBackend, SyncOutcome } from '../backends/backend.js';
import { Agent } from '../agent/agent.js';
import { HealthTracker } from '../agent/health.js';
import { Metrics } from '../agent/metrics.js';
import { defaultNodeContext } from '../state/node-context.js';
import type { DesiredState } from '../state/types.js';
import { ManifestSource, ManifestSourceError } from './manifest-source.js';
import type { SourceEvent } from './source.js';

function serviceYaml(name: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec:\n  selector: {app: ${name}}\n  ports: [{port: 80, targetPort: 8080}]\n`;
}

function summary(batch: readonly SourceEvent[]): string[] {
  return batch.map((e) => (e.type === 'service-upsert' ? `${e.type} ${e.service.name}` : e.type === 'service-delete' ? `${e.type} ${e.name}` : e.type));
}

class RecordingBackend implements ProxyBackend {
  readonly mode = 'fake';
  readonly synced: string[][] = [];
  async sync(state: DesiredState): Promise<SyncOutcome> {
    this.synced.push([...state.IPv4.keys()]);
    return { kind: 'full', ruleCounts: {}, sent: {} };
  }
  async cleanup(): Promise<void> {}
  setContext(): void {}
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ManifestSource with unreadable paths', () => {
  let dir = '';
  let source: ManifestSource | undefined;
  let batches: SourceEvent[][] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sp-fixes15-manifests-'));
    batches = [];
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function open(paths: string[]): { started: Promise<'started' | Error> } {
    source = new ManifestSource({ paths, debounceMs: 30, pollIntervalMs: 100 });
    const started = source.start((b) => batches.push([...b])).then(() => 'started' as const, (err: Error) => err);
    return { started };
  }

  it('delivers nothing, not even synced, while a path is missing; then everything in one batch', async () => {
    const missing = path.join(dir, 'later');
    const { started } = open([missing]);
    await settle();
    expect(batches).toEqual([]);
    expect(source?.status()).toEqual({ healthy: false, detail: expect.stringMatching(/^cannot read manifest paths \(.*ENOENT.*later.*\); nothing programmed/) });

    await mkdir(missing);
    await writeFile(path.join(missing, 'a.yaml'), serviceYaml('web'));
    expect(await started).toBe('started');
    expect(batches.map(summary)).toEqual([['service-upsert web', 'synced']]);
    expect(source?.status().healthy).toBe(true);
  });

  it('waits for every configured path, not just one of them', async () => {
    await writeFile(path.join(dir, 'a.yaml'), serviceYaml('web'));
    const second = path.join(dir, 'more.yaml');
    const { started } = open([path.join(dir, 'a.yaml'), second]);
    await settle();
    expect(batches).toEqual([]);
    await writeFile(second, serviceYaml('api'));
    expect(await started).toBe('started');
    expect(batches.map(summary)).toEqual([['service-upsert web', 'service-upsert api', 'synced']]);
  });

  it('rejects at once when not watching (plan, validate), naming the path', async () => {
    source = new ManifestSource({ paths: [path.join(dir, 'typo')], watch: false });
    await expect(source.start(() => undefined)).rejects.toThrow(ManifestSourceError);
    await expect(new ManifestSource({ paths: [path.join(dir, 'typo')], watch: false }).start(() => undefined)).rejects.toThrow(/typo/);
  });

  it('stop() before the paths appear settles start()', async () => {
    const { started } = open([path.join(dir, 'never')]);
    await settle(50);
    await source?.stop();
    expect(await started).toBeInstanceOf(ManifestSourceError);
  });

  it('keeps what a directory defined when the directory disappears, says so, and follows it when it returns', async () => {
    const manifests = path.join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(path.join(manifests, 'a.yaml'), serviceYaml('web'));
    await writeFile(path.join(manifests, 'b.yaml'), serviceYaml('db'));
    const { started } = open([manifests]);
    expect(await started).toBe('started');

    await rm(manifests, { recursive: true });
    await vi.waitFor(() => expect(source?.status().detail).toMatch(/^cannot read manifest paths since .*; keeping the last good state: 2 manifest files, 2 objects$/));
    expect(source?.status().healthy).toBe(false);
    await settle();
    expect(batches.slice(1).map(summary)).toEqual([]);

    await mkdir(manifests);
    await writeFile(path.join(manifests, 'a.yaml'), serviceYaml('web'));
    await writeFile(path.join(manifests, 'c.yaml'), serviceYaml('api'));
    await vi.waitFor(() => expect(source?.status().healthy).toBe(true));
    await vi.waitFor(() => expect(batches.slice(1).flatMap(summary).sort()).toEqual(['service-delete db', 'service-upsert api']));
  });

  it('keeps what a named file defined when the file disappears', async () => {
    const file = path.join(dir, 'svc.yaml');
    await writeFile(file, serviceYaml('web'));
    const { started } = open([file]);
    expect(await started).toBe('started');
    await rm(file);
    await vi.waitFor(() => expect(source?.status().detail).toContain('keeping the last good state: 1 manifest files, 1 objects'));
    await settle();
    expect(batches.slice(1).map(summary)).toEqual([]);
  });

  it('the agent programs nothing on a missing path and /healthz reports why, until the path can be read', async () => {
    const missing = path.join(dir, 'mistyped');
    source = new ManifestSource({ paths: [missing], debounceMs: 30, pollIntervalMs: 100 });
    const live = source;
    const health = new HealthTracker(60_000, Date.now, () => live.status());
    const backend = new RecordingBackend();
    const agent = new Agent({
      ctx: defaultNodeContext({ nodeName: 'n1' }), source, backend, metrics: new Metrics(), health,
      logger: pino({ level: 'silent' }), minSyncPeriodMs: 10, syncPeriodMs: 60_000,
    });
    const started = agent.start();
    await settle();
    expect(backend.synced).toEqual([]);
    const report = health.report();
    expect(report.healthy).toBe(false);
    expect(report.body['source']).toMatchObject({ healthy: false, detail: expect.stringContaining('mistyped') });

    await mkdir(missing);
    await writeFile(path.join(missing, 'a.yaml'), serviceYaml('web'));
    await started;
    await vi.waitFor(() => expect(backend.synced).toEqual([['default/web:']]));
    expect(health.report().healthy).toBe(true);
    await agent.stop();
  });
});
