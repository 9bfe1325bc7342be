// The behaviour suite in iptables mode, plus what only iptables mode can be asked.
import type { Testbed } from '../../src/testbed/testbed.js';
import { behaviourSuite } from './behaviour-suite.js';

async function save(tb: Testbed): Promise<string> {
  const out: string[] = [];
  for (const table of ['filter', 'nat']) {
    const { stdout } = await tb.exec('node', 'iptables-save', ['-t', table]);
    // Counters and timestamps differ between dumps; chain and rule text must not.
    out.push(...stdout.split('\n').filter((l) => l.startsWith('-A ') || (l.startsWith(':') && l.includes('KUBE-'))).map((l) => l.replace(/\[\d+:\d+\]/, '')));
  }
  return out.sort().join('\n');
}

behaviourSuite({
  mode: 'iptables',
  localhostNodePorts: 'served',
  snapshot: save,
  ruleMetric: /kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]/,
  async breakRules(tb) {
    // Flush the entry chain and delete one service's chains outright, as an operator might.
    await tb.exec('node', 'iptables', ['-w', '-t', 'nat', '-F', 'KUBE-SERVICES']);
    const svc = (await save(tb)).split('\n').find((l) => l.startsWith(':KUBE-SVC-'));
    if (svc) {
      const name = svc.slice(1).split(' ')[0] as string;
      await tb.exec('node', 'iptables', ['-w', '-t', 'nat', '-F', name]);
    }
  },
});
