// IPVS mode's iptables companion rules and KUBE-LOOP-BACK ipset are accepted by the real
// iptables-restore and ipset, in a namespace of the test's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderIpvsIptables } from '../src/backends/ipvs/ipvs-iptables.js';
import { CLUSTER_IP_SET, IPVS_IPSETS, ipsetRestore, ipvsIpsetContents, LOOP_BACK_SET, loopBackRestore } from '../src/backends/ipvs/ipvs-ipsets.js';
import { Ipset } from '../src/kernel/ipset.js';
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
    // The rules name KUBE-LOOP-BACK and KUBE-CLUSTER-IP: refused until the sets exist.
    await expect(k.restore(text, { noflush: true })).rejects.toThrow();
    const ipset = new Ipset({ netns: NS });
    const desired = familyVirtualServers('IPv4', state, ctx);
    for (const { set, entries } of ipvsIpsetContents('IPv4', desired.virtualServers.values())) await ipset.restore(ipsetRestore(set, entries));
    expect(await ipset.members(LOOP_BACK_SET.IPv4.name)).toEqual(['10.244.1.5,tcp:8080,10.244.1.5']);
    // Only the cluster IP with endpoints: the empty service is REJECTed, not masqueraded.
    expect(await ipset.members(CLUSTER_IP_SET.IPv4.name)).toEqual(['10.96.0.10,tcp:80']);
    await k.restore(text, { noflush: true });
    await k.restore(text, { noflush: true });
    const nat = await k.save('nat');
    // One rule for every cluster IP, one for the NodePort (Cluster policy).
    expect(nat.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES'))).toEqual([
      '-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
      expect.stringMatching(/-d 192\.168\.77\.1\/32 .*--dport 30080 -j KUBE-MARK-MASQ$/),
    ]);
    expect(await k.save('filter')).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.30\/32 .*-j REJECT/);
    // Hairpin first in KUBE-POSTROUTING, before the mark check returns unmarked packets.
    expect(nat.split('\n').find((l) => l.startsWith('-A KUBE-POSTROUTING'))).toMatch(/-m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE$/);

    // A new member set swaps in whole; the staging set does not stay.
    await ipset.restore(loopBackRestore('IPv4', ['10.244.1.6,udp:53,10.244.1.6', '10.244.1.7,sctp:9,10.244.1.7']));
    expect((await ipset.members(LOOP_BACK_SET.IPv4.name))?.sort()).toEqual(['10.244.1.6,udp:53,10.244.1.6', '10.244.1.7,sctp:9,10.244.1.7']);
    expect(await ipset.members('SVCPLANE-LOOP-BACK-NEW')).toBeUndefined();
    // Referenced by a rule: cannot be destroyed (cleanup removes the rules first).
    await expect(ipset.destroy(LOOP_BACK_SET.IPv4.name)).rejects.toThrow(/in use/);
    await k.restore('*nat\n:KUBE-POSTROUTING - [0:0]\n:KUBE-SERVICES - [0:0]\nCOMMIT\n', { noflush: true });
    for (const name of IPVS_IPSETS) await ipset.destroy(name);
    expect(await ipset.members(LOOP_BACK_SET.IPv4.name)).toBeUndefined();
    expect(await ipset.members(CLUSTER_IP_SET.IPv4.name)).toBeUndefined();
  });
});
