// Where the nftables mode's memory goes at N services x M endpoints (README "Benchmark"):
// builds the bench's synthetic state, plans it fully (memo + transaction, as a full sync
// does) and prints the heap each step retains. With --snapshots DIR it also writes heap
// snapshots before and after planning and prints the difference by constructor.
// Run after `make build`: node --expose-gc scripts/nft-memo-heap.mjs [N] [M] [--snapshots DIR]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { ObjectStore } from '../dist/state/object-store.js';
import { DesiredStateBuilder } from '../dist/state/desired-state.js';
import { defaultNodeContext } from '../dist/state/node-context.js';
import { syntheticEvents } from '../dist/bench/synthetic.js';
import { planFull } from '../dist/backends/nftables/planner.js';
import { FullTransactionBuilder } from '../dist/backends/nftables/full-transaction.js';

const args = process.argv.slice(2);
const snapAt = args.indexOf('--snapshots');
const dir = snapAt === -1 ? undefined : args[snapAt + 1];
const [n = 10000, m = 10] = args.filter((a, i) => !a.startsWith('--') && i !== snapAt + 1).map(Number);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const used = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

/** Self size per (node type, constructor) of a heap snapshot. */
function byConstructor(file) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [it, iname, isize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + it]];
    const name = type.includes('string') ? '(string)' : s.strings[s.nodes[i + iname]];
    const key = `${type} ${name}`.slice(0, 70);
    const v = out.get(key) ?? [0, 0];
    v[0] += s.nodes[i + isize];
    v[1]++;
    out.set(key, v);
  }
  return out;
}

const ctx = defaultNodeContext({ nodeName: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.128.0.0/9'] });
const store = new ObjectStore();
store.apply(syntheticEvents(n, m));
const { state } = new DesiredStateBuilder(ctx).update(store, 'all');
const h0 = used();
console.log(`${n} services x ${m}: object store and desired state ${mb(h0)} of heap`);
if (dir !== undefined) v8.writeHeapSnapshot(join(dir, 'before.heapsnapshot'));
let builder = new FullTransactionBuilder('ip', 'svcplane', undefined);
let t = performance.now();
const memo = planFull(state.IPv4, { family: 'IPv4', ctx }, builder);
const planMs = performance.now() - t;
t = performance.now();
let tx = builder.finish();
console.log(`plan ${planMs.toFixed(0)} ms, script ${(performance.now() - t).toFixed(0)} ms: ${mb(tx.script.length)} of text`);
const h1 = used();
// The builder holds the script's pieces until it is dropped, as the backend drops it after the sync.
tx = undefined;
builder = undefined;
const h2 = used();
console.log(`memo and script retain ${mb(h1 - h0)}; the memo alone ${mb(h2 - h0)}`);
if (dir !== undefined) {
  v8.writeHeapSnapshot(join(dir, 'after.heapsnapshot'));
  const a = byConstructor(join(dir, 'before.heapsnapshot'));
  const b = byConstructor(join(dir, 'after.heapsnapshot'));
  const rows = [...b].map(([k, [size, count]]) => [k, size - (a.get(k)?.[0] ?? 0), count - (a.get(k)?.[1] ?? 0)]).sort((x, y) => y[1] - x[1]);
  for (const [k, size, count] of rows.slice(0, 12)) console.log(`${mb(size).padStart(9)} ${String(count).padStart(8)}  ${k}`);
}
globalThis.keep = [memo, state, store];
