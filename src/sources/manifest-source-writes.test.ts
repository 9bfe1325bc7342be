// Files the manifest source is told were closed (inotify's close events) are read at once; a
// file still open and being written is not read, however long its writer pauses (up to
// maxDelayMs), even with a quiet time that alone would have read it half-way. Real files and
// real inotify (no privileges needed); no assertion on how fast, only on what was read.
import { open, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteCloseWatch } from '../kernel/write-close-watch.js';
import { ManifestSource, type ManifestSourceOptions } from './manifest-source.js';
import type { SourceEvent } from './source.js';

const service = (name: string, port = 80): string => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {clusterIP: None, ports: [{port: ${port}}]}\n`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ManifestSource with inotify close events', () => {
  let dir: string;
  let source: ManifestSource | undefined;
  let events: SourceEvent[];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'svcp-manifest-writes-'));
    events = [];
    await writeFile(path.join(dir, 'base.yaml'), service('base'));
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startSource(options: Partial<ManifestSourceOptions>): Promise<void> {
    source = new ManifestSource({ paths: [dir], pollIntervalMs: 600_000, ...options });
    await source.start((batch) => events.push(...batch));
  }

  const services = (): string[] => events.flatMap((e) => (e.type === 'service-upsert' ? [`${e.service.name}:${e.service.ports[0]?.port}`] : []));

  it('has inotify here (else the tests below would pass on the quiet time alone)', () => {
    const w = WriteCloseWatch.open();
    expect(w).toBeDefined();
    w?.close();
  });

  it('never reads a file its writer still holds open, though the quiet time has long passed', async () => {
    // A 20 ms quiet time: without the close events this file would be read after its first half.
    await startSource({ debounceMs: 20, maxDelayMs: 600_000 });
    const file = await open(path.join(dir, 'two.yaml'), 'w');
    try {
      // The first half alone is valid YAML: a service "a", and "b" cut after its name.
      await file.write(`${service('a')}---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: default}\n`);
      await file.sync();
      await sleep(500);
      expect(services()).toEqual(['base:80']);
      await file.write('spec: {clusterIP: None, ports: [{port: 8080}]}\n');
    } finally {
      await file.close();
    }
    await vi.waitFor(() => expect(services()).toEqual(['base:80', 'a:80', 'b:8080']), { timeout: 5000, interval: 10 });
  });

  it('reads a closed file at once, without waiting out a long quiet time', async () => {
    await startSource({ debounceMs: 600_000, maxDelayMs: 600_000 });
    await writeFile(path.join(dir, 'new.yaml'), service('new', 81));
    await vi.waitFor(() => expect(services()).toEqual(['base:80', 'new:81']), { timeout: 5000, interval: 10 });
    // Renamed into place (how editors and kubectl-like tools write): complete by construction.
    await writeFile(path.join(dir, '.tmp'), service('moved', 82));
    await rename(path.join(dir, '.tmp'), path.join(dir, 'moved.yaml'));
    await vi.waitFor(() => expect(services()).toEqual(['base:80', 'new:81', 'moved:82']), { timeout: 5000, interval: 10 });
  });

  it('without close events, waits the quiet time as before', async () => {
    await startSource({ debounceMs: 600_000, maxDelayMs: 600_000, trackWrites: false });
    await writeFile(path.join(dir, 'new.yaml'), service('new', 81));
    await sleep(300);
    expect(services()).toEqual(['base:80']);
  });
});
