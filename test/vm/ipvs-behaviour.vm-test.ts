// The behaviour suite (test/integration/behaviour-suite.ts) in IPVS mode, on the real kernel
// inside the VM: the same services, packets and checks as every other mode, hairpin included.
import type { Testbed } from '../../src/testbed/testbed.js';
import { behaviourSuite } from '../integration/behaviour-suite.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('ipvs-behaviour.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

/** The guest runs under TCG: deadlines and request timeouts are stretched, nothing else changes. */
const TIME_SCALE = 20;
// Read by the traffic helpers (src/testbed/traffic.ts) at each request.
process.env.SVCPLANE_TESTBED_TIME_SCALE = String(TIME_SCALE / 4);

/** Lines sorted, counters and set headers (their hash seed changes with every swap) left out. */
async function snapshot(tb: Testbed): Promise<string> {
  const ipvs = (await tb.exec('node', 'ipvsadm', ['-S', '-n'])).stdout.split('\n');
  const rules = ['nat', 'filter'].map(async (table) => (await tb.exec('node', 'iptables-save', ['-t', table])).stdout.split('\n').filter((l) => /^-A KUBE-|^:KUBE-/.test(l)).map((l) => l.replace(/ \[\d+:\d+\]$/, '')));
  // Every member of every set the rules match (`add SET MEMBER`; the `create` lines carry the seed).
  const members = (await tb.exec('node', 'ipset', ['save'])).stdout.split('\n').filter((l) => l.startsWith('add '));
  return [...ipvs, ...(await Promise.all(rules)).flat(), ...members].filter((l) => l.trim() !== '').sort().join('\n');
}

behaviourSuite({
  mode: 'ipvs',
  ruleMetric: /svcplane_kernel_objects\{mode="ipvs",kind="virtualServers"\} [1-9]/,
  timeScale: TIME_SCALE,
  // IPVS persistence outlives the 2 s timeout while the client's connection entries live.
  affinityOutlivesConnections: true,
  // NodePort virtual servers are on the node's addresses, not 127.0.0.1; cluster IPs are local (kube-ipvs0).
  localhostNodePorts: 'refused',
  clusterIPCheck: 'local-ports',
  snapshot,
  async breakRules(tb) {
    // Delete a virtual server by hand: its VIP stays bound, so connections are refused until the repair.
    await tb.exec('node', 'ipvsadm', ['-D', '-t', '10.96.10.1:80']);
  },
});
