import { describe, expect, it, vi } from 'vitest';
import { validateObject } from '../model/validate.js';
import { ClusterIPAllocator } from './cluster-ip-allocator.js';
import { ManifestState, type FileChange } from './manifest-state.js';
import type { SourceEvent } from './source.js';
import { seededRandom } from '../util/seeded-random.js';


const INVALID = '# invalid';

/** Documents the random files are made of: same names across files make duplicates. */
const POOL: readonly ((variant: number) => string)[] = [
  ...[0, 1, 2, 3].map((i) => (v: number) => `kind: Service\napiVersion: v1\nmetadata: {name: s${i}}\nspec: {clusterIP: 10.96.0.${10 + i}, ports: [{port: ${80 + v}}]}\n`),
  // No clusterIP: allocated.
  ...[4, 5].map((i) => (v: number) => `kind: Service\napiVersion: v1\nmetadata: {name: s${i}}\nspec: {ports: [{port: ${80 + v}}]}\n`),
  ...[0, 1, 2].map(
    (i) => (v: number) =>
      `kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\nmetadata: {name: sl${i}, labels: {kubernetes.io/service-name: s${i}}}\naddressType: IPv4\nendpoints: [{addresses: [10.1.0.${v + 1}]}]\nports: [{port: 8080}]\n`,
  ),
  (v) => `kind: Endpoints\napiVersion: v1\nmetadata: {name: s3}\nsubsets: [{addresses: [{ip: 10.2.0.${v + 1}}], ports: [{port: 8080}]}]\n`,
  (v) => `kind: Node\napiVersion: v1\nmetadata: {name: n0}\nstatus: {addresses: [{type: InternalIP, address: 192.0.2.${v + 1}}]}\n`,
  // Invalid definitions (kept at their last good version while invalid) and broken YAML.
  () => `${INVALID}\nkind: Service\napiVersion: v1\nmetadata: {name: s1}\nspec: {clusterIP: 10.96.0.11, ports: [{port: 0}]}\n`,
  () => `${INVALID}\nkind: Endpoints\napiVersion: v1\nmetadata: {name: s3}\nsubsets: [{addresses: [{ip: 10.2.0.300}], ports: [{port: 8080}]}]\n`,
  () => `${INVALID}\nkind: Service\nmetadata: {name: [s2\n`,
];
const FILE_NAMES = ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml', 'e.yaml'];

function randomFile(random: () => number): string {
  const count = Math.floor(random() * 4);
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const make = POOL[Math.floor(random() * POOL.length)];
    if (make !== undefined) docs.push(make(Math.floor(random() * 3)));
  }
  return docs.join('---\n');
}

/** Applies a batch to a view of what the sink holds, keyed by event kind and name. */
function applyEvents(view: Map<string, unknown>, events: readonly SourceEvent[]): void {
  for (const e of events) {
    if (e.type === 'service-upsert') view.set(`Service/${e.service.namespace}/${e.service.name}`, e.service);
    if (e.type === 'slice-upsert') view.set(`EndpointSlice/${e.slice.namespace}/${e.slice.name}`, e.slice);
    if (e.type === 'node-upsert') view.set(`Node/${e.node.name}`, e.node);
    if (e.type === 'service-delete') view.delete(`Service/${e.namespace}/${e.name}`);
    if (e.type === 'slice-delete') view.delete(`EndpointSlice/${e.namespace}/${e.name}`);
    if (e.type === 'node-delete') view.delete(`Node/${e.name}`);
  }
}

/** The view with allocated addresses masked: those depend on history by design (they are stable). */
function comparable(view: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of view) {
    const allocated = key === 'Service/default/s4' || key === 'Service/default/s5';
    out[key] = allocated && typeof value === 'object' && value !== null ? { ...value, clusterIPs: '<allocated>' } : value;
  }
  return out;
}

describe('ManifestState', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('incremental updates end where a fresh load of the same files does (seed %i)', (seed) => {
    const random = seededRandom(seed);
    const state = new ManifestState(new ClusterIPAllocator(['10.96.0.0/24']));
    const view = new Map<string, unknown>();
    const files = new Map<string, string>();
    const allocatedIPs = new Map<string, unknown>();
    let compared = 0;
    for (let step = 0; step < 150; step++) {
      const changes: FileChange[] = [];
      const touched = new Set<string>();
      for (let n = 1 + Math.floor(random() * 2); n > 0; n--) {
        const name = FILE_NAMES[Math.floor(random() * FILE_NAMES.length)] ?? 'a.yaml';
        if (touched.has(name)) continue;
        touched.add(name);
        if (random() < 0.25) {
          files.delete(name);
          changes.push({ path: name, removed: true });
        } else {
          const text = randomFile(random);
          files.set(name, text);
          changes.push({ path: name, text });
        }
      }
      applyEvents(view, state.update(changes).events);
      expect(state.objectCount).toBe(view.size);
      // While something is invalid, what is kept depends on history; once all is valid again, it must not.
      if ([...files.values()].some((text) => text.includes(INVALID))) continue;
      compared++;

      const fresh = new ManifestState(new ClusterIPAllocator(['10.96.0.0/24']));
      const freshView = new Map<string, unknown>();
      applyEvents(freshView, fresh.update([...files].map(([path, text]) => ({ path, text }))).events);
      expect(comparable(view), `seed ${seed} step ${step}`).toEqual(comparable(freshView));

      // Allocated addresses stay put while their service exists.
      for (const key of ['Service/default/s4', 'Service/default/s5']) {
        const service = view.get(key) as { clusterIPs: unknown } | undefined;
        if (service === undefined) allocatedIPs.delete(key);
        else if (allocatedIPs.has(key)) expect(service.clusterIPs).toEqual(allocatedIPs.get(key));
        else allocatedIPs.set(key, service.clusterIPs);
      }
    }
    expect(compared).toBeGreaterThan(10);
  });

  it('validates only the documents of the files that changed', () => {
    const validate = vi.fn(validateObject);
    const state = new ManifestState(new ClusterIPAllocator(), validate);
    const service = (i: number) => `kind: Service\napiVersion: v1\nmetadata: {name: svc-${i}}\nspec: {ports: [{port: 80}]}\n`;
    const changes = Array.from({ length: 50 }, (_, i) => ({ path: `f${i}.yaml`, text: service(i) }));
    state.update(changes);
    expect(validate).toHaveBeenCalledTimes(50);
    validate.mockClear();

    const result = state.update([{ path: 'f7.yaml', text: 'kind: Node\napiVersion: v1\nmetadata: {name: n7}\n' }]);
    expect(validate).toHaveBeenCalledTimes(1);
    expect(result.events).toEqual([
      { type: 'node-upsert', node: expect.objectContaining({ name: 'n7' }) },
      { type: 'service-delete', namespace: 'default', name: 'svc-7' },
    ]);
    // Unchanged text is not looked at again.
    expect(state.update([{ path: 'f8.yaml', text: changes[8]?.text ?? '' }]).events).toEqual([]);
    expect(validate).toHaveBeenCalledTimes(1);
  });

  it('reports a duplicate again only when one of its files changes', () => {
    const state = new ManifestState(new ClusterIPAllocator());
    const web = (port: number) => `kind: Service\napiVersion: v1\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.9, ports: [{port: ${port}}]}\n`;
    const first = state.update([
      { path: 'b.yaml', text: web(82) },
      { path: 'a.yaml', text: web(81) },
    ]);
    expect(first.errors.map((e) => e.source)).toEqual(['b.yaml:1']);
    expect(state.update([{ path: 'c.yaml', text: POOL[8]?.(0) ?? '' }]).errors).toEqual([]);
    expect(state.update([{ path: 'b.yaml', text: web(83) }]).errors.map((e) => e.source)).toEqual(['b.yaml:1']);

    const takeover = state.update([{ path: 'a.yaml', removed: true }]);
    expect(takeover.errors).toEqual([]);
    expect(takeover.events).toMatchObject([{ type: 'service-upsert', service: { name: 'web', ports: [{ port: 83 }] } }]);
  });

  it('keeps the last good version of an object that turns invalid until its definition is gone', () => {
    const state = new ManifestState(new ClusterIPAllocator());
    const web = (port: number) => `kind: Service\napiVersion: v1\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.9, ports: [{port: ${port}}]}\n`;
    state.update([{ path: 'a.yaml', text: web(80) }]);
    // Invalid in another file, while a.yaml stops defining it: the last good version stays.
    const broken = state.update([
      { path: 'a.yaml', text: '' },
      { path: 'b.yaml', text: web(0) },
    ]);
    expect(broken.events.map((e) => e.type)).toEqual(['invalid']);
    expect(broken.kept).toEqual(['Service/default/web']);
    expect(state.objectCount).toBe(1);
    // The invalid definition goes: so does the object, though a.yaml did not change.
    expect(state.update([{ path: 'b.yaml', removed: true }]).events).toEqual([{ type: 'service-delete', namespace: 'default', name: 'web' }]);
  });
});
