// IPVS mode's companion rules and ipsets are accepted by the real iptables-restore and ipset,
// in a namespace of the test's own: every set of both families, the fixed rules naming them,
// a partial sync's member changes, and cleanup's order (rules first, then sets).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderIpvsIptables } from '../src/backends/ipvs/ipvs-iptables.js';
import { CLUSTER_IP_SET, familySets, IPVS_IPSETS, ipsetDeltaRestore, ipsetRestore, ipvsIpsetContents, LOAD_BALANCER_SOURCE_CIDR_SET, LOOP_BACK_SET, NODE_PORT_SETS } from '../src/backends/ipvs/ipvs-ipsets.js';
import { Ipset } from '../src/kernel/ipset.js';
import { desiredVirtualServers } from '../src/backends/ipvs/virtual-servers.js';
import { Iptables } from '../src/kernel/iptables.js';
import { defaultNodeContext } from '../src/state/node-context.js';
import type { DesiredState } from '../src/state/types.js';
import { addNetns, deleteNetns } from '../src/testbed/netns.js';
import { endpoint, familyState, servicePort } from './lib/state-fixtures.js';

const NS = `svcp-ipvs-ipt-${process.pid}`;

describe('IPVS mode iptables rules and ipsets', () => {
  beforeAll(() => addNetns(NS));
  afterAll(() => deleteNetns(NS));

  it('restore for real, twice (idempotent), read back, change members in place, clean up', async () => {
    const ctx = defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1', 'fd00:77::1'], clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/64'] });
    const state: DesiredState = {
      IPv4: familyState(
        servicePort({ nodePort: 30080, clusterEndpoints: [endpoint('10.244.1.5', 8080)], loadBalancerIPs: ['192.168.77.200'], loadBalancerSourceRanges: ['203.0.113.0/24'] }),
        servicePort({ serviceName: 'local', clusterIP: '10.96.0.20', nodePort: 30081, externalPolicyLocal: true, healthCheckNodePort: 31081, loadBalancerIPs: ['192.168.77.201'], clusterEndpoints: [endpoint('10.244.1.6', 53, { isLocal: true })], protocol: 'UDP' }),
        servicePort({ serviceName: 'sctp', clusterIP: '10.96.0.40', nodePort: 30082, protocol: 'SCTP', clusterEndpoints: [endpoint('10.244.1.7', 9)] }),
        servicePort({ serviceName: 'empty', clusterIP: '10.96.0.30', clusterEndpoints: [], hasEndpoints: false }),
      ),
      IPv6: familyState(servicePort({ serviceName: 'six', clusterIP: 'fd00:96::10', nodePort: 30090, clusterEndpoints: [endpoint('fd00:244::5', 8080)] })),
    };
    const desired = desiredVirtualServers(state, ctx);
    const ipset = new Ipset({ netns: NS });
    for (const family of ['IPv4', 'IPv6'] as const) {
      const text = renderIpvsIptables(family, ctx);
      const k = new Iptables({ family, netns: NS });
      // The rules name the sets: refused until they exist.
      await expect(k.restore(text, { noflush: true })).rejects.toThrow();
      let restore = '';
      for (const { set, entries } of ipvsIpsetContents(family, desired.virtualServers.values(), state, ctx)) restore += ipsetRestore(set, entries);
      await ipset.restore(restore);
      await k.restore(text, { noflush: true });
      await k.restore(text, { noflush: true });
      // Every rule kept as written (iptables-save prints `! -s` first), none twice.
      const saved = (await k.save('nat')) + (await k.save('filter'));
      const rules = saved.split('\n').filter((l) => /^-A KUBE-/.test(l));
      expect(rules.length).toBe(text.split('\n').filter((l) => l.startsWith('-A ')).length);
      expect(new Set(rules).size).toBe(rules.length);
    }
    // Each kind in its set, as `ipset list` prints it (what the live tracer reads).
    expect(await ipset.members(LOOP_BACK_SET.IPv4.name)).toEqual(expect.arrayContaining(['10.244.1.5,tcp:8080,10.244.1.5', '10.244.1.6,udp:53,10.244.1.6', '10.244.1.7,sctp:9,10.244.1.7']));
    expect((await ipset.members(CLUSTER_IP_SET.IPv4.name))?.sort()).toEqual(['10.96.0.10,tcp:80', '10.96.0.20,udp:80', '10.96.0.40,sctp:80']);
    expect(await ipset.members(NODE_PORT_SETS.TCP.IPv4.name)).toEqual(['30080']);
    expect(await ipset.members('KUBE-NODE-PORT-LOCAL-UDP')).toEqual(['30081']);
    expect(await ipset.members('KUBE-HEALTH-CHECK-NODE-PORT')).toEqual(['31081']);
    expect(await ipset.members('KUBE-NODE-PORT-SCTP-HASH')).toEqual(['192.168.77.1,sctp:30082']);
    expect(await ipset.members(LOAD_BALANCER_SOURCE_CIDR_SET.IPv4.name)).toEqual(['192.168.77.200,tcp:80,203.0.113.0/24']);
    expect(await ipset.members('SVCPLANE-NO-ENDPOINTS')).toEqual(['10.96.0.30,tcp:80']);
    expect(await ipset.members('KUBE-6-CLUSTER-IP')).toEqual(['fd00:96::10,tcp:80']);
    expect(await ipset.members('KUBE-6-NODE-PORT-TCP')).toEqual(['30090']);

    // A partial sync's change: members deleted and added in place, missing ones ignored (-exist).
    await ipset.restore(ipsetDeltaRestore([
      { set: LOOP_BACK_SET.IPv4, add: ['10.244.1.8,tcp:8080,10.244.1.8'], del: ['10.244.1.5,tcp:8080,10.244.1.5', '10.244.9.9,tcp:1,10.244.9.9'] },
      { set: NODE_PORT_SETS.TCP.IPv4, add: ['30099'], del: ['30080'] },
    ]));
    expect((await ipset.members(LOOP_BACK_SET.IPv4.name))?.sort()).toEqual(['10.244.1.6,udp:53,10.244.1.6', '10.244.1.7,sctp:9,10.244.1.7', '10.244.1.8,tcp:8080,10.244.1.8']);
    expect(await ipset.members(NODE_PORT_SETS.TCP.IPv4.name)).toEqual(['30099']);
    // A whole set swapped in; the staging set does not stay.
    await ipset.restore(ipsetRestore(LOOP_BACK_SET.IPv4, ['10.244.1.6,udp:53,10.244.1.6']));
    expect(await ipset.members(LOOP_BACK_SET.IPv4.name)).toEqual(['10.244.1.6,udp:53,10.244.1.6']);
    expect(await ipset.members(LOOP_BACK_SET.IPv4.staging)).toBeUndefined();

    // Referenced by a rule: cannot be destroyed (cleanup removes the rules first).
    await expect(ipset.destroy(LOOP_BACK_SET.IPv4.name)).rejects.toThrow(/in use/);
    for (const family of ['IPv4', 'IPv6'] as const) {
      const k = new Iptables({ family, netns: NS });
      await k.restore('*nat\n:KUBE-POSTROUTING - [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-LOAD-BALANCER - [0:0]\n:KUBE-NODE-PORT - [0:0]\nCOMMIT\n*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-SOURCE-RANGES-FIREWALL - [0:0]\nCOMMIT\n', { noflush: true });
    }
    for (const name of IPVS_IPSETS) await ipset.destroy(name);
    for (const set of [...familySets('IPv4'), ...familySets('IPv6')]) expect(await ipset.members(set.name)).toBeUndefined();
  });
});
