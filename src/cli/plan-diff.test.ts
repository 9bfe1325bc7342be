import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../test/lib/state-fixtures.js';
import { applyPlan, dump, fakeKernel } from '../backends/ipvs/fake-kernel.js';
import { planIpvs } from '../backends/ipvs/ipvs-planner.js';
import { ipvsIpsetContents } from '../backends/ipvs/ipvs-ipsets.js';
import { familyVirtualServers } from '../backends/ipvs/virtual-servers.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ipsetDiffLines, ipvsDiffLines } from './plan-diff.js';

const ctx = defaultNodeContext({ nodeIPs: ['192.168.1.10'] });
const opts = { gracePeriodMs: 0, now: 0, terminating: new Map<string, number>(), ownedAddresses: new Set(['192.168.1.10']) };
const desired = (ips: string[]) => familyVirtualServers('IPv4', familyState(servicePort({ clusterEndpoints: ips.map((ip) => endpoint(ip, 8080)) })), ctx, {});

describe('plan --diff in IPVS mode', () => {
  it('marks every op of the sync plan as a change: + for new, - for deleted, ~ for updated in place', () => {
    const k = fakeKernel();
    applyPlan(k, planIpvs(desired(['10.244.0.1', '10.244.0.2']), dump(k), opts));
    expect(ipvsDiffLines(planIpvs(desired(['10.244.0.1', '10.244.0.2']), dump(k), opts))).toEqual([]);
    // A real server deleted by hand (ipvsadm -d): the sync adds it back.
    const lines = ipvsDiffLines(planIpvs(desired(['10.244.0.1', '10.244.0.2', '10.244.0.3']), dump(k), opts));
    expect(lines).toEqual(['+ new-dest TCP 10.96.0.10:80 -> 10.244.0.3:8080 weight 1']);
    const fewer = ipvsDiffLines(planIpvs(desired(['10.244.0.1']), dump(k), opts));
    expect(fewer).toEqual(['- del-dest TCP 10.96.0.10:80 -> 10.244.0.2:8080 weight 1']);
    const rescheduled = ipvsDiffLines(planIpvs(familyVirtualServers('IPv4', familyState(servicePort({ clusterEndpoints: [endpoint('10.244.0.1', 8080), endpoint('10.244.0.2', 8080)] })), ctx, { scheduler: 'lc' }), dump(k), opts));
    expect(rescheduled).toEqual(['~ update-service TCP 10.96.0.10:80']);
  });

  it('compares the ipsets the companion rules match, member by member', () => {
    const state = { IPv4: familyState(servicePort({ clusterEndpoints: [endpoint('10.244.0.1', 8080)] })), IPv6: new Map() };
    const d = familyVirtualServers('IPv4', state.IPv4, ctx, {});
    // Every other set of the family is there and empty, as on a node the agent programmed.
    const empty = new Map(ipvsIpsetContents('IPv4', [], state, ctx).map(({ set }) => [set.name, [] as string[]]));
    const live = new Map([...empty, ['KUBE-LOOP-BACK', ['10.244.0.1,tcp:8080,10.244.0.1', '10.244.0.9,tcp:8080,10.244.0.9']], ['KUBE-CLUSTER-IP', []]]);
    expect(ipsetDiffLines('IPv4', d, live, state, ctx)).toEqual(['- KUBE-LOOP-BACK 10.244.0.9,tcp:8080,10.244.0.9', '+ KUBE-CLUSTER-IP 10.96.0.10,tcp:80']);
    expect(ipsetDiffLines('IPv4', d, new Map([...empty, ['KUBE-LOOP-BACK', ['10.244.0.1,tcp:8080,10.244.0.1']], ['KUBE-CLUSTER-IP', ['10.96.0.10,tcp:80']]]), state, ctx)).toEqual([]);
    const fromNothing = ipsetDiffLines('IPv4', d, new Map(), state, ctx);
    expect(fromNothing).toEqual(expect.arrayContaining(['+ create KUBE-LOOP-BACK hash:ip,port,ip', '+ KUBE-LOOP-BACK 10.244.0.1,tcp:8080,10.244.0.1', '+ create KUBE-CLUSTER-IP hash:ip,port', '+ KUBE-CLUSTER-IP 10.96.0.10,tcp:80']));
    expect(fromNothing.filter((l) => !l.startsWith('+ create ')).sort()).toEqual(['+ KUBE-CLUSTER-IP 10.96.0.10,tcp:80', '+ KUBE-LOOP-BACK 10.244.0.1,tcp:8080,10.244.0.1']);
    expect(fromNothing.filter((l) => l.startsWith('+ create '))).toHaveLength(empty.size);
  });
});
