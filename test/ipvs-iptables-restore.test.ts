// IPVS mode's iptables companion rules are accepted by the real iptables-restore.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderIpvsIptables } from '../src/backends/ipvs/ipvs-iptables.js';
import { familyVirtualServers } from '../src/backends/ipvs/virtual-servers.js';
import { Iptables } from '../src/kernel/iptables.js';
import { defaultNodeContext } from '../src/state/node-context.js';
import { addNetns, deleteNetns } from '../src/testbed/netns.js';
import { endpoint, familyState, servicePort } from './lib/state-fixtures.js';

const NS = `svcp-ipvs-ipt-${process.pid}`;

describe('IPVS mode iptables rules', () => {
  beforeAll(() => addNetns(NS));
  afterAll(() => deleteNetns(NS));

  it('restore for real, twice (idempotent), and read back', async () => {
    const ctx = defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'], clusterCIDRs: ['10.244.0.0/16'] });
    const state = familyState(servicePort({ nodePort: 30080, clusterEndpoints: [endpoint('10.244.1.5', 8080)] }), servicePort({ serviceName: 'empty', clusterIP: '10.96.0.30', clusterEndpoints: [], hasEndpoints: false }));
    const text = renderIpvsIptables('IPv4', familyVirtualServers('IPv4', state, ctx), state, ctx);
    const k = new Iptables({ family: 'IPv4', netns: NS });
    await k.restore(text, { noflush: true });
    await k.restore(text, { noflush: true });
    const nat = await k.save('nat');
    expect(nat.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES')).length).toBe(2);
    expect(await k.save('filter')).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.30\/32 .*-j REJECT/);
  });
});
