// Switching a live node between iptables and nftables mode (the agent stopped, started again
// with the other --mode): the new mode's rules take over, nothing of the old mode is left, and
// a connection established before the switch keeps working through it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../../src/testbed/agent-process.js';
import type { Testbed } from '../../src/testbed/testbed.js';
import { BehaviourWorld, ep, eventually, tally } from './behaviour-fixture.js';

/** What either iptables backend holds of svcplane's in the node's nat table. */
async function iptablesChains(tb: Testbed): Promise<string[]> {
  const chains: string[] = [];
  for (const save of ['iptables-nft-save', 'iptables-legacy-save']) {
    const { stdout } = await tb.exec('node', save, ['-t', 'nat']);
    for (const line of stdout.split('\n')) if (/^:KUBE-/.test(line)) chains.push(`${save} ${line.split(' ')[0]}`);
  }
  return chains;
}

async function nftTables(tb: Testbed): Promise<string> {
  return (await tb.exec('node', 'nft', ['list', 'tables'])).stdout;
}

async function startMode(w: BehaviourWorld, mode: string): Promise<void> {
  const args = w.agentArgs();
  args[args.indexOf('--mode') + 1] = mode;
  w.agent = new AgentProcess(w.tb, args);
  await w.agent.start();
}

describe('switching proxy modes on a live node', () => {
  let w: BehaviourWorld;

  beforeAll(async () => {
    w = await BehaviourWorld.create({ mode: 'iptables', localhostNodePorts: 'served', ruleMetric: /./, snapshot: async () => '', breakRules: async () => {} });
    w.service({ name: 'web', clusterIP: '10.96.20.1' }, [ep('a1'), ep('b1')]);
    w.service({ name: 'np', clusterIP: '10.96.20.2', type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30090 }] }, [ep('a2'), ep('b2')]);
    await w.startAgent();
  });

  afterAll(async () => {
    await w?.destroy();
  });

  it('iptables -> nftables -> iptables: the other mode leaves nothing, an established connection survives', async () => {
    expect(await iptablesChains(w.tb)).not.toEqual([]);
    const held = await w.tb.holdConnection('client', w.tb.nodeIP, 30090);
    expect(['a2', 'b2']).toContain(held.greeting);

    for (const [mode, step] of [['nftables', 'to-nftables'], ['iptables', 'back-to-iptables']] as const) {
      await w.agent.kill('SIGTERM'); // leaves the rules in place, as on an upgrade
      await startMode(w, mode);
      await eventually(async () => expect(Object.keys(tally(await w.tb.tcpRequests('node', '10.96.20.1', 80, 20))).sort()).toEqual(['a1', 'b1']));
      expect(Object.keys(tally(await w.tb.tcpRequests('client', w.tb.nodeIP, 30090, 20))).sort()).toEqual(['a2', 'b2']);
      expect(await held.request(step)).toBe(`${held.greeting}:${step}`);
      if (mode === 'nftables') {
        expect(await iptablesChains(w.tb)).toEqual([]);
        expect(await nftTables(w.tb)).toContain('table ip svcplane');
      } else {
        expect(await iptablesChains(w.tb)).not.toEqual([]);
        expect(await nftTables(w.tb)).not.toContain('table ip svcplane');
      }
    }
    await held.close();
  });
});
