// Random walks through service changes and connection counts against the fake
// kernel: after every applied plan the kernel holds exactly what is wanted
// (plus draining real servers at weight 0, each within its grace period),
// replanning gives nothing, and a foreign virtual server is never touched.
import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { ServicePortState } from '../../state/types.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { applyPlan, dump, fakeKernel, setCounts } from './fake-kernel.js';
import { destinationKey, virtualServerKey } from './ipvs-keys.js';
import { planIpvs } from './ipvs-planner.js';
import type { IpvsDestination, IpvsService } from './ipvs-types.js';
import { familyVirtualServers } from './virtual-servers.js';
import { seededRandom } from '../../util/seeded-random.js';

const GRACE = 20_000;
const ctx = defaultNodeContext({ nodeIPs: ['192.168.1.10'] });


function randomState(r: () => number): ServicePortState[] {
  const out: ServicePortState[] = [];
  for (let s = 0; s < 6; s++) {
    if (r() < 0.2) continue;
    const eps = [];
    for (let e = 1; e <= 6; e++) if (r() < 0.5) eps.push(endpoint(`10.244.${s}.${e}`, 8080, { isLocal: r() < 0.3 }));
    out.push(servicePort({
      serviceName: `svc${s}`, clusterIP: `10.96.0.${s + 1}`, protocol: s % 2 === 0 ? 'TCP' : 'UDP', clusterEndpoints: eps,
      nodePort: r() < 0.5 ? 30000 + s : 0, externalIPs: r() < 0.3 ? [`203.0.113.${s}`] : [],
      affinityTimeoutSeconds: r() < 0.3 ? 300 : 0, externalPolicyLocal: r() < 0.3, internalPolicyLocal: r() < 0.2,
    }));
  }
  return out;
}

const foreign: IpvsService = { af: 'IPv4', protocol: 'TCP', address: '172.16.0.1', port: 443, scheduler: 'wlc', flags: 0, timeout: 0, netmask: 0xffffffff };
const foreignDest: IpvsDestination = { address: '10.1.1.1', port: 443, forwardMethod: 'route', weight: 5, upperThreshold: 0, lowerThreshold: 0 };

describe('planIpvs convergence', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random walk ${seed}`, () => {
      const r = seededRandom(seed);
      const k = fakeKernel([{ service: foreign, destinations: [foreignDest] }]);
      const foreignBefore = JSON.stringify(dump(k).services.find((s) => s.service.address === '172.16.0.1'));
      let terminating = new Map<string, number>();
      let now = 0;
      const seen = new Set<string>();
      for (let step = 0; step < 40; step++) {
        now += Math.floor(r() * 8000);
        // The kernel's counts move on their own.
        for (const vs of k.services.values()) {
          if (vs.service.address === foreign.address) continue;
          for (const d of vs.dests.values()) setCounts(k, vs.service, d.address, d.port, r() < 0.5 ? 0 : 2, r() < 0.5 ? 0 : 3);
        }
        const schedulers = ['rr', 'wlc', 'sh'];
        const desired = familyVirtualServers('IPv4', familyState(...randomState(r)), ctx, { schedulerFor: (sp) => schedulers[(sp.serviceName.length + step) % 3] });
        const opts = { gracePeriodMs: GRACE, now, terminating, ownedAddresses: new Set(ctx.nodeIPs) };
        const plan = planIpvs(desired, dump(k), opts);
        applyPlan(k, plan);
        terminating = plan.terminating;
        for (const o of plan.ops) seen.add(o.op);
        if (terminating.size > 0) seen.add('draining');

        expect(planIpvs(desired, dump(k), { ...opts, terminating }).ops).toEqual([]);
        expect([...k.bound].sort()).toEqual([...desired.boundAddresses].sort());
        const kernelKeys = [...k.services.keys()].filter((key) => key !== virtualServerKey(foreign)).sort();
        expect(kernelKeys).toEqual([...desired.virtualServers.keys()].sort());
        for (const want of desired.virtualServers.values()) {
          const have = k.services.get(want.key);
          expect(have?.service).toMatchObject({ scheduler: want.service.scheduler, timeout: want.service.timeout, flags: want.service.flags | 2 });
          const live = [...(have?.dests.values() ?? [])].filter((d) => d.weight > 0).map((d) => destinationKey(want.key, d)).sort();
          expect(live).toEqual(want.destinations.map((d) => destinationKey(want.key, d)).sort());
          for (const d of have?.dests.values() ?? []) {
            if (d.weight > 0) continue;
            const since = terminating.get(destinationKey(want.key, d));
            expect(since).toBeDefined();
            expect(now - (since ?? 0)).toBeLessThan(GRACE);
          }
        }
        expect(terminating.size).toBe([...k.services.values()].reduce((n, vs) => n + [...vs.dests.values()].filter((d) => d.weight === 0).length, 0));
      }
      // The walk went through every kind of op, and through draining.
      expect([...seen].sort()).toEqual(['del-dest', 'del-service', 'draining', 'new-dest', 'new-service', 'update-dest', 'update-service']);
      expect(JSON.stringify(dump(k).services.find((s) => s.service.address === '172.16.0.1'))).toBe(foreignBefore);
    });
  }
});
