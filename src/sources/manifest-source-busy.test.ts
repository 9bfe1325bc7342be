// The watcher under constant activity: a change to the manifests is loaded
// within a bounded time, however often other files (next to or among the
// manifests) are written. With the defaults (200 ms debounce, 2 s poll).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_DELAY_MS, ManifestSource } from './manifest-source.js';
import type { SourceEvent } from './source.js';

function serviceYaml(name: string, port: number): string {
  return `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec:\n  selector: {app: ${name}}\n  ports: [{port: ${port}, targetPort: 8080}]\n`;
}

/** Writes `file` every `everyMs` until stopped. */
function keepWriting(file: string, content: (i: number) => string, everyMs: number): { stop: () => Promise<void> } {
  let i = 0;
  let writing = Promise.resolve();
  const timer = setInterval(() => {
    writing = writing.then(() => writeFile(file, content(i++))).catch(() => undefined);
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await writing;
    },
  };
}

// Loaded within the bound, plus room for a read and a busy CI machine.
const LIMIT_MS = DEFAULT_MAX_DELAY_MS + 1000;

describe('ManifestSource under constant file activity', () => {
  let parent = '';
  let manifests = '';
  let source: ManifestSource | undefined;
  let batches: Array<{ at: number; events: SourceEvent[] }> = [];
  let writer: { stop: () => Promise<void> } | undefined;

  beforeEach(async () => {
    parent = await mkdtemp(path.join(os.tmpdir(), 'sp-fixes15-busy-'));
    manifests = path.join(parent, 'manifests');
    await mkdir(manifests);
    await writeFile(path.join(manifests, 'web.yaml'), serviceYaml('web', 80));
    batches = [];
  });
  afterEach(async () => {
    await writer?.stop();
    writer = undefined;
    await source?.stop();
    source = undefined;
    await rm(parent, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    source = new ManifestSource({ paths: [manifests] });
    await source.start((events) => batches.push({ at: performance.now(), events: [...events] }));
  }

  /** Changes web's port and returns how long until that change is delivered. */
  async function timeWebChange(): Promise<number> {
    const t0 = performance.now();
    await writeFile(path.join(manifests, 'web.yaml'), serviceYaml('web', 81));
    const deadline = t0 + LIMIT_MS + 2000;
    while (performance.now() < deadline) {
      const hit = batches.find((b) => b.events.some((e) => e.type === 'service-upsert' && e.service.name === 'web' && e.service.ports[0]?.port === 81));
      if (hit !== undefined) return hit.at - t0;
      await new Promise((r) => setTimeout(r, 20));
    }
    return Infinity;
  }

  it('a log file written every 50 ms next to the manifests directory neither delays nor triggers reloads', async () => {
    await start();
    writer = keepWriting(path.join(parent, 'svcplane.log'), (i) => `line ${i}\n`.repeat(i + 1), 50);
    await new Promise((r) => setTimeout(r, 600));
    expect(batches).toHaveLength(1); // only the initial batch: the log is no manifest
    expect(await timeWebChange()).toBeLessThan(LIMIT_MS);
  });

  it('a file that is not a manifest, written every 30 ms inside the manifests directory, does not delay a change', async () => {
    await start();
    writer = keepWriting(path.join(manifests, 'notes.txt'), (i) => `note ${i}\n`, 30);
    await new Promise((r) => setTimeout(r, 600));
    expect(batches).toHaveLength(1);
    expect(await timeWebChange()).toBeLessThan(LIMIT_MS);
  });

  it('another manifest rewritten every 50 ms does not starve a change to web.yaml', async () => {
    writer = keepWriting(path.join(manifests, 'busy.yaml'), (i) => serviceYaml('busy', 1000 + (i % 1000)), 50);
    await start();
    expect(await timeWebChange()).toBeLessThan(LIMIT_MS);
  });
});
