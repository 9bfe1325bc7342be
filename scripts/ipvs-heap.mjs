// Heap the IPVS mode retains at N x M (README "Benchmark"): the committed virtual servers (with
// the ipset book) and the dump cache, built as a full sync builds them; the dump stands in for
// what the kernel returns, with the stats objects the netlink decoder gives every entry.
// Run after `make build`: node --expose-gc scripts/ipvs-heap.mjs [N] [M]
import { ObjectStore } from '../dist/state/object-store.js';
import { DesiredStateBuilder } from '../dist/state/desired-state.js';
import { defaultNodeContext } from '../dist/state/node-context.js';
import { syntheticEvents } from '../dist/bench/synthetic.js';
import { desiredVirtualServers } from '../dist/backends/ipvs/virtual-servers.js';
import { CommittedIpvs } from '../dist/backends/ipvs/ipvs-incremental.js';
import { IpvsDumpCache } from '../dist/backends/ipvs/ipvs-dump-cache.js';
const [n = 10000, m = 10] = process.argv.slice(2).map(Number);
const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const used = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
const ctx = defaultNodeContext({ nodeName: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.128.0.0/9'] });
const store = new ObjectStore();
store.apply(syntheticEvents(n, m));
const { state } = new DesiredStateBuilder(ctx).update(store, 'all');
const h0 = used();
console.log(`object store + desired state ${mb(h0)}`);
const desired = desiredVirtualServers(state, ctx);
const committed = CommittedIpvs.fromFull(desired, state, ctx);
const h1 = used();
let dests = 0; for (const vs of committed.virtualServers.values()) dests += vs.destinations.length;
console.log(`committed (virtual servers ${committed.virtualServers.size}, real servers ${dests}, ipset book) ${mb(h1 - h0)}`);
const stats = () => ({ connections: 0, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, cps: 0, ppsIn: 0, ppsOut: 0, bpsIn: 0, bpsOut: 0 });
let dump = [...committed.virtualServers.values()].map((vs) => ({ service: { ...vs.service, flags: vs.service.flags | 2, stats: stats() }, destinations: vs.destinations.map((d) => ({ ...d, activeConnections: 0, inactiveConnections: 0, persistentConnections: 0, stats: stats() })) }));
const h2 = used();
console.log(`the dump as decoded (with stats) ${mb(h2 - h1)}`);
const cache = IpvsDumpCache.fromDump(dump);
dump = undefined;
const h3 = used();
console.log(`dump cache alone, the dump dropped: ${mb(h3 - h1)}`);
const ipsetMembers = ['KUBE-LOOP-BACK', 'KUBE-CLUSTER-IP'].map((s) => `${s} ${committed.ipsets.memberCount(s)}`);
console.log(ipsetMembers.join(', '));
void cache; void committed; void state;
