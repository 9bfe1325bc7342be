import { mkdir, mkdtemp, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeEvent, nthBatch } from '../../test/lib/source-recorder.js';
import type { ValidationError } from '../model/errors.js';
import { ManifestSource, type ManifestSourceOptions } from './manifest-source.js';
import type { SourceEvent } from './source.js';

function serviceYaml(name: string, opts: { port?: number; clusterIP?: string; namespace?: string } = {}): string {
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${opts.namespace ?? 'default'}`,
    'spec:',
    `  selector: {app: ${name}}`,
    ...(opts.clusterIP === undefined ? [] : [`  clusterIP: ${opts.clusterIP}`]),
    '  ports:',
    `  - port: ${opts.port ?? 80}`,
    '    targetPort: 8080',
    '',
  ].join('\n');
}

function sliceYaml(name: string, service: string, ip: string): string {
  return [
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    'metadata:',
    `  name: ${name}`,
    `  labels: {kubernetes.io/service-name: ${service}}`,
    'addressType: IPv4',
    'endpoints:',
    `- addresses: [${ip}]`,
    'ports:',
    '- port: 8080',
    '',
  ].join('\n');
}

const nodeJson = JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.10' }] } });

/** A compact view of a batch: 'service-upsert default/web', 'invalid File /path', ... */
const summary = (batch: readonly SourceEvent[]): string[] => batch.map(describeEvent);

function errorsOf(batch: readonly SourceEvent[] | undefined): readonly ValidationError[] {
  return (batch ?? []).flatMap((e) => (e.type === 'invalid' ? e.errors : []));
}

function serviceIn(batch: readonly SourceEvent[] | undefined, name: string) {
  for (const e of batch ?? []) if (e.type === 'service-upsert' && e.service.name === name) return e.service;
  return undefined;
}

describe('ManifestSource', () => {
  let dir: string;
  let source: ManifestSource | undefined;
  let batches: SourceEvent[][];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'svcp-manifest-'));
    batches = [];
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startSource(options: Partial<ManifestSourceOptions> = {}): Promise<ManifestSource> {
    source = new ManifestSource({ paths: [dir], debounceMs: 30, pollIntervalMs: 100, ...options });
    await source.start((batch) => batches.push([...batch]));
    return source;
  }

  const batch = (n: number): Promise<SourceEvent[]> => nthBatch(() => batches, n);

  /** No further batch arrives within a few debounce and poll periods. */
  async function expectQuiet(count: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(batches.map(summary).slice(count)).toEqual([]);
  }

  it('loads a directory of multi-document files in one batch ending in synced', async () => {
    await writeFile(path.join(dir, 'a.yaml'), `${serviceYaml('web')}---\n${sliceYaml('web-1', 'web', '10.0.0.1')}`);
    await writeFile(path.join(dir, 'b.yml'), serviceYaml('api', { clusterIP: '10.96.0.50' }));
    await writeFile(path.join(dir, 'c.json'), nodeJson);
    await writeFile(path.join(dir, 'notes.txt'), 'not: [a manifest');
    await writeFile(path.join(dir, '.a.yaml.swp'), 'garbage: [');
    await startSource();

    expect(batches).toHaveLength(1);
    expect(summary(batches[0] ?? [])).toEqual([
      'node-upsert node-1',
      'service-upsert default/api',
      'service-upsert default/web',
      'slice-upsert default/web-1',
      'synced',
    ]);
    expect(serviceIn(batches[0], 'api')?.clusterIPs).toEqual(['10.96.0.50']);
    expect(serviceIn(batches[0], 'web')?.clusterIPs[0]).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(source?.status()).toEqual({ healthy: true, detail: '3 manifest files, 4 objects loaded' });
  });

  it('reads several explicitly named files', async () => {
    const one = path.join(dir, 'one.yaml');
    const two = path.join(dir, 'two.txt'); // named explicitly, so the extension does not matter
    await writeFile(one, serviceYaml('one'));
    await writeFile(two, serviceYaml('two'));
    await writeFile(path.join(dir, 'other.yaml'), serviceYaml('other'));
    await startSource({ paths: [two, one], watch: false });
    expect(summary(batches[0] ?? [])).toEqual(['service-upsert default/one', 'service-upsert default/two', 'synced']);
  });

  it('delivers only the differences after an edit, a new file and a deletion', async () => {
    await writeFile(path.join(dir, 'a.yaml'), `${serviceYaml('web')}---\n${serviceYaml('api')}`);
    await writeFile(path.join(dir, 'b.yaml'), sliceYaml('web-1', 'web', '10.0.0.1'));
    await startSource();
    const webIP = serviceIn(batches[0], 'web')?.clusterIPs;

    await writeFile(path.join(dir, 'a.yaml'), `${serviceYaml('web')}---\n${serviceYaml('api', { port: 81 })}`);
    expect(summary(await batch(2))).toEqual(['service-upsert default/api']);
    expect(serviceIn(batches[1], 'api')?.ports[0]?.port).toBe(81);

    await writeFile(path.join(dir, 'c.yaml'), serviceYaml('db'));
    expect(summary(await batch(3))).toEqual(['service-upsert default/db']);

    await unlink(path.join(dir, 'b.yaml'));
    expect(summary(await batch(4))).toEqual(['slice-delete default/web-1']);

    await unlink(path.join(dir, 'a.yaml'));
    expect(summary(await batch(5))).toEqual(['service-delete default/web', 'service-delete default/api']);
    await expectQuiet(5);
    // web was never re-sent: its allocated IP stayed put through the reloads.
    expect(webIP).toHaveLength(1);
  });

  it('sees files replaced by atomic rename, and ignores touches that change nothing', async () => {
    const file = path.join(dir, 'a.yaml');
    await writeFile(file, serviceYaml('web'));
    await startSource();
    await writeFile(path.join(dir, '.a.yaml.tmp'), serviceYaml('web', { port: 8443 }));
    await rename(path.join(dir, '.a.yaml.tmp'), file);
    expect(summary(await batch(2))).toEqual(['service-upsert default/web']);
    await utimes(file, new Date(), new Date());
    await expectQuiet(2);
  });

  it('keeps the last good content of a file with a YAML syntax error and reports file:line', async () => {
    const file = path.join(dir, 'a.yaml');
    await writeFile(file, `${serviceYaml('web')}---\n${serviceYaml('api')}`);
    await startSource();

    await writeFile(file, `${serviceYaml('web', { port: 81 })}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [api\n`);
    const broken = await batch(2);
    expect(summary(broken)).toEqual([`invalid File /${file}`]);
    const [error] = errorsOf(broken);
    expect(error?.ref).toEqual({ kind: 'File', namespace: '', name: file });
    expect(error?.field).toBe('yaml');
    // The parser notices the unclosed sequence at the end of the file.
    expect(error?.source).toBe(`${file}:16`);
    expect(error?.reason).toMatch(/^line 16:1: Flow sequence/);
    expect(source?.status().detail).toContain(`last error: ${file}:`);
    await expectQuiet(2); // reported once, not on every poll

    await writeFile(file, `${serviceYaml('web', { port: 81 })}---\n${serviceYaml('api')}`);
    expect(summary(await batch(3))).toEqual(['service-upsert default/web']);
    expect(source?.status()).toEqual({ healthy: true, detail: '1 manifest files, 2 objects loaded' });
  });

  it('keeps the last good version of an object that becomes invalid, and skips new invalid ones', async () => {
    await writeFile(path.join(dir, 'a.yaml'), serviceYaml('web'));
    await startSource();

    await writeFile(path.join(dir, 'a.yaml'), `${serviceYaml('web', { port: 70000 })}---\n${serviceYaml('new', { port: 0 })}`);
    const report = await batch(2);
    expect(summary(report)).toEqual(['invalid Service default/web, Service default/new']);
    const messages = errorsOf(report).map((e) => e.message);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(new RegExp(`^${dir}/a.yaml:1: Service default/web: spec.ports\\[0\\].port: `));
    expect(messages[1]).toMatch(new RegExp(`^${dir}/a.yaml:12: Service default/new: spec.ports\\[0\\].port: `));

    // An unrelated change does not repeat the report, and web is still the good version.
    await writeFile(path.join(dir, 'b.yaml'), serviceYaml('api'));
    expect(summary(await batch(3))).toEqual(['service-upsert default/api']);

    // Deleting the object's definition does delete it.
    await writeFile(path.join(dir, 'a.yaml'), '');
    expect(summary(await batch(4))).toEqual(['service-delete default/web']);
  });

  it('keeps slices converted from legacy Endpoints when the Endpoints object becomes invalid', async () => {
    const endpoints = (ip: string) =>
      `apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets:\n- addresses: [{ip: ${ip}}]\n  ports: [{port: 8080}]\n`;
    await writeFile(path.join(dir, 'a.yaml'), endpoints('10.0.0.1'));
    await startSource();
    expect(summary(batches[0] ?? [])).toEqual(['slice-upsert default/web-endpoints-0-v4', 'synced']);
    await writeFile(path.join(dir, 'a.yaml'), endpoints('10.0.0.300'));
    const report = await batch(2);
    expect(summary(report)).toEqual(['invalid Endpoints default/web']);
    expect(errorsOf(report)[0]?.ref).toEqual({ kind: 'Endpoints', namespace: 'default', name: 'web' });
  });

  it('lets the first file in sorted order win a duplicate and names both files', async () => {
    await writeFile(path.join(dir, 'b.yaml'), serviceYaml('web', { port: 82 }));
    await writeFile(path.join(dir, 'a.yaml'), serviceYaml('web', { port: 81 }));
    await startSource();
    expect(summary(batches[0] ?? [])).toEqual(['service-upsert default/web', 'invalid Service default/web', 'synced']);
    expect(serviceIn(batches[0], 'web')?.ports[0]?.port).toBe(81);
    const [error] = errorsOf(batches[0]);
    expect(error?.source).toBe(`${path.join(dir, 'b.yaml')}:1`);
    expect(error?.message).toContain(`already defined in ${path.join(dir, 'a.yaml')}`);

    await unlink(path.join(dir, 'a.yaml'));
    const takeover = await batch(2);
    expect(summary(takeover)).toEqual(['service-upsert default/web']);
    expect(serviceIn(takeover, 'web')?.ports[0]?.port).toBe(82);
  });

  it('coalesces a burst of writes into one batch (the quiet time, without inotify close events)', async () => {
    // With close events each of these complete files would be read once closed
    // (manifest-source-writes.test.ts); the quiet time is what changes they cannot vouch for get.
    const file = path.join(dir, 'a.yaml');
    await writeFile(file, serviceYaml('web'));
    await startSource({ debounceMs: 150, trackWrites: false });
    for (let port = 1; port <= 5; port++) {
      await writeFile(file, serviceYaml('web', { port }));
      await writeFile(path.join(dir, `s${port}.yaml`), serviceYaml(`s${port}`));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const burst = await batch(2);
    expect(summary(burst)).toEqual([1, 2, 3, 4, 5].map((n) => `service-upsert default/s${n}`).concat('service-upsert default/web').sort());
    expect(serviceIn(burst, 'web')?.ports[0]?.port).toBe(5);
    await expectQuiet(2);
  });

  it('allocates cluster IPs deterministically, dual-stack, with explicit IPs taking precedence', async () => {
    await writeFile(path.join(dir, 'a.yaml'), `${serviceYaml('web')}---\n${serviceYaml('api')}`);
    await startSource({ watch: false, serviceCIDRs: ['10.0.0.0/29', 'fd00::/120'] });
    const first = [serviceIn(batches[0], 'web')?.clusterIPs, serviceIn(batches[0], 'api')?.clusterIPs];
    await source?.stop();

    // Same services, other file order, another explicitly claiming web's address.
    batches = [];
    await writeFile(path.join(dir, 'a.yaml'), serviceYaml('api'));
    await writeFile(path.join(dir, '0.yaml'), serviceYaml('web'));
    await startSource({ watch: false, serviceCIDRs: ['10.0.0.0/29', 'fd00::/120'] });
    expect([serviceIn(batches[0], 'web')?.clusterIPs, serviceIn(batches[0], 'api')?.clusterIPs]).toEqual(first);
    await source?.stop();

    batches = [];
    await writeFile(path.join(dir, 'z.yaml'), serviceYaml('claim', { clusterIP: first[0]?.[0] }));
    const dual = `${serviceYaml('dual')}`.replace('spec:\n', 'spec:\n  ipFamilies: [IPv6, IPv4]\n');
    await writeFile(path.join(dir, 'd.yaml'), dual);
    await startSource({ watch: false, serviceCIDRs: ['10.0.0.0/29', 'fd00::/120'] });
    expect(serviceIn(batches[0], 'claim')?.clusterIPs).toEqual(first[0]);
    expect(serviceIn(batches[0], 'web')?.clusterIPs).not.toEqual(first[0]);
    expect(serviceIn(batches[0], 'dual')?.clusterIPs).toEqual([expect.stringMatching(/^fd00::[0-9a-f]+$/), expect.stringMatching(/^10\.0\.0\.[2-6]$/)]);
    const v4 = batches[0]?.flatMap((e) => (e.type === 'service-upsert' ? e.service.clusterIPs : [])).filter((ip) => ip.startsWith('10.'));
    expect(new Set(v4).size).toBe(v4?.length);
  });

  it('stops watching on stop()', async () => {
    await writeFile(path.join(dir, 'a.yaml'), serviceYaml('web'));
    await startSource();
    await source?.stop();
    await writeFile(path.join(dir, 'b.yaml'), serviceYaml('api'));
    await expectQuiet(1);
  });
});
