// The manifest source's cost model: a change costs what changed, not what exists.
// Counted in file system calls and validations, never in time.
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nthBatch } from '../../test/lib/source-recorder.js';
import { validateObject } from '../model/validate.js';
import { NODE_FILE_SYSTEM, type ManifestFileSystem } from './manifest-files.js';
import { ManifestSource, type ManifestSourceOptions } from './manifest-source.js';
import type { SourceEvent } from './source.js';

const FILES = 40;

function serviceFile(i: number, port = 80): string {
  return [
    'apiVersion: v1',
    'kind: Service',
    `metadata: {name: svc-${i}, namespace: default}`,
    `spec: {selector: {app: svc-${i}}, ports: [{port: ${port}, targetPort: 8080}]}`,
    '---',
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    `metadata: {name: svc-${i}-1, namespace: default, labels: {kubernetes.io/service-name: svc-${i}}}`,
    'addressType: IPv4',
    `endpoints: [{addresses: [10.1.${i}.1]}]`,
    'ports: [{port: 8080}]',
    '',
  ].join('\n');
}

function summary(batch: readonly SourceEvent[]): string[] {
  return batch.map((e) => {
    if (e.type === 'service-upsert') return `${e.type} ${e.service.name}:${e.service.ports[0]?.port}`;
    if (e.type === 'slice-upsert') return `${e.type} ${e.slice.name}`;
    if (e.type === 'service-delete' || e.type === 'slice-delete') return `${e.type} ${e.name}`;
    return e.type;
  });
}

describe('ManifestSource on a change among many files', () => {
  let dir: string;
  let source: ManifestSource | undefined;
  let batches: SourceEvent[][];
  let fileSystem: { [K in keyof ManifestFileSystem]: ReturnType<typeof vi.fn<ManifestFileSystem[K]>> };
  let validate: ReturnType<typeof vi.fn<typeof validateObject>>;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'svcp-manifest-inc-'));
    batches = [];
    fileSystem = {
      stat: vi.fn(NODE_FILE_SYSTEM.stat),
      readdir: vi.fn(NODE_FILE_SYSTEM.readdir),
      readFile: vi.fn(NODE_FILE_SYSTEM.readFile),
    };
    validate = vi.fn(validateObject);
    for (let i = 0; i < FILES; i++) await writeFile(path.join(dir, `svc-${i}.yaml`), serviceFile(i));
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startSource(options: Partial<ManifestSourceOptions> = {}): Promise<void> {
    // No poll during the test: every reload is the watcher's.
    source = new ManifestSource({ paths: [dir], debounceMs: 50, pollIntervalMs: 600_000, fileSystem, validate, ...options });
    await source.start((batch) => batches.push([...batch]));
  }

  const batch = (n: number): Promise<SourceEvent[]> => nthBatch(() => batches, n);

  function resetCounts(): void {
    for (const spy of [fileSystem.stat, fileSystem.readdir, fileSystem.readFile, validate]) spy.mockClear();
  }

  const fileArgs = (spy: { mock: { calls: readonly (readonly unknown[])[] } }): unknown[] => spy.mock.calls.map((call) => call[0]);

  it('reads, stats and validates only the file that changed', async () => {
    await startSource();
    expect(fileSystem.readFile).toHaveBeenCalledTimes(FILES);
    expect(validate).toHaveBeenCalledTimes(2 * FILES);
    resetCounts();

    const changed = path.join(dir, 'svc-7.yaml');
    await writeFile(changed, serviceFile(7, 81));
    expect(summary(await batch(2))).toEqual(['service-upsert svc-7:81']);
    expect(new Set(fileArgs(fileSystem.readFile))).toEqual(new Set([changed]));
    expect(new Set(fileArgs(fileSystem.stat))).toEqual(new Set([changed]));
    expect(fileSystem.readdir).not.toHaveBeenCalled();
    // Both documents of the one file, once per time the file was read.
    expect(validate).toHaveBeenCalledTimes(2 * fileSystem.readFile.mock.calls.length);
  });

  it('handles a new and a removed file without looking at the others', async () => {
    await startSource();
    resetCounts();

    const added = path.join(dir, 'svc-100.yaml');
    await writeFile(added, serviceFile(100));
    expect(summary(await batch(2))).toEqual(['service-upsert svc-100:80', 'slice-upsert svc-100-1']);
    await unlink(path.join(dir, 'svc-3.yaml'));
    expect(summary(await batch(3))).toEqual(['slice-delete svc-3-1', 'service-delete svc-3']);

    expect(new Set(fileArgs(fileSystem.readFile))).toEqual(new Set([added]));
    // The directory too, once: a file gone with its directory is kept, not removed.
    expect(new Set(fileArgs(fileSystem.stat))).toEqual(new Set([added, path.join(dir, 'svc-3.yaml'), dir]));
    expect(source?.status().detail).toBe(`${FILES} manifest files, ${2 * FILES} objects loaded`);
  });

  it('re-resolves a duplicate when the file that won it goes away', async () => {
    // Sorts before svc-5.yaml, so it wins the service; the slice stays svc-5's.
    await writeFile(path.join(dir, 'svc-4a.yaml'), serviceFile(5, 90).split('---')[0] ?? '');
    await startSource();
    const [first] = batches;
    expect(first?.find((e) => e.type === 'service-upsert' && e.service.name === 'svc-5')).toMatchObject({ service: { ports: [{ port: 90 }] } });
    resetCounts();

    await unlink(path.join(dir, 'svc-4a.yaml'));
    expect(summary(await batch(2))).toEqual(['service-upsert svc-5:80']);
    expect(fileSystem.readFile).not.toHaveBeenCalled();
    expect(validate).not.toHaveBeenCalled();
  });

  it('after a full rescan reads only the files whose stamp changed', async () => {
    // A configured file changing makes the source rescan all configured paths.
    const files = [0, 1, 2, 3].map((i) => path.join(dir, `svc-${i}.yaml`));
    await startSource({ paths: files });
    expect(summary(batches[0] ?? [])).toHaveLength(2 * files.length + 1);
    resetCounts();

    await writeFile(files[2] ?? '', serviceFile(2, 82));
    expect(summary(await batch(2))).toEqual(['service-upsert svc-2:82']);
    expect(new Set(fileArgs(fileSystem.readFile))).toEqual(new Set([files[2]]));
    // The rescan did look at every configured file's stamp.
    expect(new Set(fileArgs(fileSystem.stat))).toEqual(new Set(files));
  });
});
