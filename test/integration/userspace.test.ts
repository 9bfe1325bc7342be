// The behaviour suite in userspace mode: the agent's own listeners, reached through
// DNAT rules in kube-proxy's KUBE-PORTALS-* / KUBE-NODEPORT-* chains.
import type { Testbed } from '../../src/testbed/testbed.js';
import { behaviourSuite } from './behaviour-suite.js';

const CHAINS = /KUBE-PORTALS-|KUBE-NODEPORT-(CONTAINER|HOST)/;

/** Our chains and rules; listener ports are kernel-chosen, so they change across a restart. */
async function save(tb: Testbed): Promise<string> {
  const out: string[] = [];
  for (const table of ['filter', 'nat']) {
    const { stdout } = await tb.exec('node', 'iptables-save', ['-t', table]);
    out.push(...stdout.split('\n').filter((l) => CHAINS.test(l)).map((l) => l.replace(/\[\d+:\d+\]/, '').replace(/(--to-destination [\d.]+):\d+/, '$1:PORT')));
  }
  return out.sort().join('\n');
}

behaviourSuite({
  mode: 'userspace',
  localhostNodePorts: 'refused',
  snapshot: save,
  proxiesInProcess: true,
  ruleMetric: /svcplane_kernel_objects\{mode="userspace",kind="listeners"\} [1-9]/,
  async breakRules(tb) {
    await tb.exec('node', 'iptables', ['-w', '-t', 'nat', '-F', 'KUBE-PORTALS-HOST']);
  },
});
