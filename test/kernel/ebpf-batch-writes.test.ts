// Privileged: the eBPF applier's batched map writes (BPF_MAP_UPDATE_BATCH / DELETE_BATCH,
// dumps by LOOKUP_BATCH) against the same plans applied one bpf() call per element (batches
// forced off, as on a kernel without them), in two copies of svcplane's real maps under
// scratch pin roots: bpftool must read back the same bytes from both, after writes and
// after a plan that also deletes. Nothing is attached (no cgroup, no tc): only maps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultObjectPath } from '../../src/backends/ebpf/ebpf-attach.js';
import { applyOps, dumpMaps, LB_MAP_KEYS, LB_MAP_NAMES, type LbMaps } from '../../src/backends/ebpf/ebpf-maps.js';
import { emptyMapsContent } from '../../src/backends/ebpf/maps-content.js';
import { planEbpf } from '../../src/backends/ebpf/planner.js';
import { BpfObject, ensureBpffs, Libbpf, unpinAll, type BpfMap } from '../../src/kernel/bpf/index.js';
import { runChecked } from '../../src/kernel/exec.js';
import { defaultNodeContext } from '../../src/state/node-context.js';
import type { DesiredState, ServicePortState } from '../../src/state/types.js';
import { endpoint, familyState, servicePort } from '../lib/state-fixtures.js';

const lib = Libbpf.open();
const ROOTS = { batched: `/sys/fs/bpf/svcp-h20c-batched-${process.pid}`, single: `/sys/fs/bpf/svcp-h20c-single-${process.pid}` };
const CTX = defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['10.0.0.5', 'fd00::5'] });
const objects: BpfObject[] = [];

/** svcplane's object loaded under `pinRoot` (maps only matter here), its load-balancer maps with batches on or off. */
function loadMaps(pinRoot: string, batching: boolean): { maps: LbMaps } {
  const object = BpfObject.open(lib, defaultObjectPath(), { pinRoot });
  objects.push(object);
  object.load();
  const kernel = Object.fromEntries(LB_MAP_KEYS.map((k) => [k, object.map(LB_MAP_NAMES[k])]));
  for (const map of Object.values(kernel)) map.setBatching(batching);
  return { maps: kernel as unknown as LbMaps };
}

/** Every load-balancer map as bpftool reads it (one bpftool batch), one sorted line per entry. */
async function bpftoolDump(pinRoot: string): Promise<Record<string, string[]>> {
  const names = Object.values(LB_MAP_NAMES);
  const input = names.map((name) => `map dump pinned ${pinRoot}/${name}\n`).join('');
  const { stdout } = await runChecked('bpftool', ['-j', 'batch', 'file', '-'], { input });
  const results = JSON.parse(stdout) as { command: string[]; output: { key: string[]; value: string[] }[] }[];
  expect(results.map((r) => r.command.at(-1))).toEqual(names.map((name) => `${pinRoot}/${name}`));
  return Object.fromEntries(names.map((name, i) => [name, (results[i]?.output ?? []).map((e) => `${e.key.join('')} ${e.value.join('')}`).sort()]));
}

/** `n` IPv4 and n/4 IPv6 service ports: NodePorts, load-balancer IPs with source ranges, Local policy, affinity. */
function desired(n: number, generation: number): DesiredState {
  const v4: ServicePortState[] = [];
  const v6: ServicePortState[] = [];
  for (let i = 0; i < n; i++) {
    const eps = Array.from({ length: 1 + (i % 5) }, (_, j) => endpoint(`10.244.${i % 200}.${10 + j + (j === 0 ? generation : 0)}`, 8080, { isLocal: j === 0 }));
    v4.push(servicePort({
      serviceName: `svc-${i}`, clusterIP: `10.96.${i >> 8}.${i & 255}`, clusterEndpoints: eps,
      ...(i % 3 === 0 ? { nodePort: 30000 + i } : {}),
      ...(i % 7 === 0 ? { loadBalancerIPs: [`198.51.100.${i % 250}`], loadBalancerSourceRanges: [`203.0.${i % 250}.0/24`], externalPolicyLocal: true } : {}),
      ...(i % 11 === 0 ? { affinityTimeoutSeconds: 600 } : {}),
    }));
    if (i % 4 === 0) {
      v6.push(servicePort({
        serviceName: `svc6-${i}`, clusterIP: `fd00:96::${i.toString(16)}`, nodePort: 31000 + i,
        clusterEndpoints: [endpoint(`fd00:244::${(i + generation).toString(16)}`, 8080), endpoint(`fd00:244::1:${i.toString(16)}`, 8080)],
        ...(i % 8 === 0 ? { loadBalancerIPs: [`2001:db8:1::${i.toString(16)}`], loadBalancerSourceRanges: [`2001:db8:${i.toString(16)}::/48`] } : {}),
      }));
    }
  }
  return { IPv4: familyState(...v4), IPv6: familyState(...v6) };
}

beforeAll(() => ensureBpffs(lib));

afterAll(() => {
  for (const object of objects) object.close();
  try {
    for (const root of Object.values(ROOTS)) {
      unpinAll(root);
      unpinAll(`${root}-maglev`);
    }
  } finally {
    lib.close();
  }
});

/** Applies two plans (from empty; then fewer services and new endpoints) to both copies, comparing bpftool's reading after each. */
async function compareTwoPlans(sizes: readonly [number, number], algorithm: 'random' | 'maglev', roots: { batched: string; single: string }): Promise<void> {
  const batched = loadMaps(roots.batched, true);
  const single = loadMaps(roots.single, false);
  const first = planEbpf(desired(sizes[0], 0), CTX, emptyMapsContent(), { algorithm });
  applyOps(batched.maps, first.ops);
  applyOps(single.maps, first.ops);
  const afterFirst = await bpftoolDump(roots.batched);
  expect(await bpftoolDump(roots.single)).toEqual(afterFirst);
  for (const name of Object.values(LB_MAP_NAMES)) {
    if (name !== LB_MAP_NAMES.maglev || algorithm === 'maglev') expect(afterFirst[name]?.length, name).toBeGreaterThan(0);
  }

  // Read back through lookup batches (batched copy) and the key walk (single copy): the same content, which the plan was.
  const dumped = { batched: dumpMaps(batched.maps), single: dumpMaps(single.maps) };
  expect(dumped.batched.undecodable).toBe(0);
  expect(dumped.batched.content).toEqual(dumped.single.content);
  expect(dumped.batched.content).toEqual(first.content);

  // Fewer services, new endpoints for the rest: updates and deletes in the planner's order.
  const second = planEbpf(desired(sizes[1], 1), CTX, dumped.batched.content, { algorithm });
  expect(second.ops.some((op) => op.op === 'delete')).toBe(true);
  expect(second.ops.some((op) => op.op === 'update')).toBe(true);
  applyOps(batched.maps, second.ops);
  applyOps(single.maps, second.ops);
  const afterSecond = await bpftoolDump(roots.batched);
  expect(await bpftoolDump(roots.single)).toEqual(afterSecond);
  expect(afterSecond).not.toEqual(afterFirst);
  expect(dumpMaps(batched.maps).content).toEqual(second.content);
}

describe('eBPF map writes: batched and one by one give the same maps', () => {
  it('random: a full plan from empty, then one that rewrites, adds and deletes (both families, source ranges)', async () => {
    await compareTwoPlans([300, 200], 'random', ROOTS);
  }, 120_000);

  // Maglev tables are 64 KB each: bpftool prints every byte, so three services only.
  it('Maglev: the same with the lookup tables', async () => {
    await compareTwoPlans([3, 2], 'maglev', { batched: `${ROOTS.batched}-maglev`, single: `${ROOTS.single}-maglev` });
  }, 120_000);
});
