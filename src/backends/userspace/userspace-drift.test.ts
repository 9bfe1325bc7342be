// The userspace mode's drift check on a real kernel (iptables-nft in a scratch namespace): once
// vouched for, nothing is read back while the ruleset generation moves only by what its syncs
// committed; a jump or rule deleted by hand is found. Listeners are real, on 127.0.0.1.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { withNftNetlink } from '../../../test/lib/nft-netns.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { runChecked } from '../../kernel/exec.js';
import { Iptables } from '../../kernel/iptables.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { StateChanges } from '../../state/types.js';
import { holdsRules, UserspaceBackend, type UserspaceKernel } from './userspace-backend.js';

const ctx = defaultNodeContext({ nodeIPs: ['127.0.0.1'] });
const svc = (name: string, ip: string) => servicePort({ serviceName: name, clusterIP: ip, nodePort: 0, clusterEndpoints: [endpoint('127.0.0.1', 9)] });
const web = svc('web', '10.96.0.10');
const api = svc('api', '10.96.0.11');
const changes = (key: string): StateChanges => ({ IPv4: new Set([key]), IPv6: new Set(), serviceChanges: 1, endpointChanges: 0 });

const scratch = withNftNetlink('svcp-usdrift');

describe('UserspaceBackend.checkDrift on a real kernel (iptables-nft)', () => {
  it('reads back only after a commit it cannot account for, and finds a jump or a rule deleted by hand', async () => {
    const { name, netlink: nl } = scratch();
    const iptables = new Iptables({ family: 'IPv4', variant: 'nft', netns: name });
    let saves = 0;
    const kernel: UserspaceKernel = {
      restore: (t, o) => iptables.restore(t, o),
      listChains: (t) => iptables.listChains(t),
      save: (t) => (saves++, iptables.save(t)),
      ensureRule: (t, c, a, p) => iptables.ensureRule(t, c, a, p),
      deleteRule: (t, c, a) => iptables.deleteRule(t, c, a),
    };
    const backend = new UserspaceBackend({ ctx, logger: pino({ level: 'silent' }), kernels: { IPv4: kernel }, generation: () => nl.generation() });
    try {
      // The restore's filter block only declares its chain: whether that commits depends on the
      // chain's contents (restoreTransactions), so the first check after such a sync reads back
      // (nat and filter) and vouches; the next reads nothing.
      await backend.sync({ IPv4: familyState(web), IPv6: new Map() }); // restores, then inserts the 7 jumps
      saves = 0;
      expect(await backend.checkDrift()).toEqual([]);
      expect(saves).toBe(2);
      expect(await backend.checkDrift()).toEqual([]);
      expect(saves).toBe(2);

      // A new service: a partial sync restoring the rules again.
      expect((await backend.sync({ IPv4: familyState(web, api), IPv6: new Map() }, changes(api.key))).kind).toBe('partial');
      expect(await backend.checkDrift()).toEqual([]);
      expect(await backend.checkDrift()).toEqual([]);
      expect(saves).toBe(4);

      // A jump deleted by hand: someone committed, so the check reads back and names it.
      await runChecked('ip', ['netns', 'exec', name, 'iptables-nft', '-t', 'filter', '-D', 'INPUT', '-m', 'comment', '--comment', 'svcplane userspace filter', '-j', 'KUBE-PORTALS-FILTER']);
      expect(await backend.checkDrift()).toEqual(['IPv4: jump filter/INPUT -> KUBE-PORTALS-FILTER missing']);
      expect(saves).toBe(6);

      // Another jump deleted by hand: found, and repaired by a full sync.
      await runChecked('ip', ['netns', 'exec', name, 'iptables-nft', '-t', 'nat', '-D', 'OUTPUT', '-m', 'comment', '--comment', 'svcplane userspace portals', '-j', 'KUBE-PORTALS-HOST']);
      expect(await backend.checkDrift()).toEqual(['IPv4: jump nat/OUTPUT -> KUBE-PORTALS-HOST missing', 'IPv4: jump filter/INPUT -> KUBE-PORTALS-FILTER missing']);
      await backend.sync({ IPv4: familyState(web, api), IPv6: new Map() });
      expect(await backend.checkDrift()).toEqual([]);
      saves = 0;
      expect(await backend.checkDrift()).toEqual([]);
      expect(saves).toBe(0);

      // A redirect rule flushed by hand, then a partial sync that changes no rule: still found.
      await runChecked('ip', ['netns', 'exec', name, 'iptables-nft', '-t', 'nat', '-F', 'KUBE-PORTALS-HOST']);
      await backend.sync({ IPv4: familyState(web, api), IPv6: new Map() }, changes(api.key));
      expect(await backend.checkDrift()).toEqual(['IPv4: the redirect rules differ from the last sync\'s']);
    } finally {
      await backend.cleanup();
    }
  });

  it('without a generation (iptables-legacy) reads back at every check', async () => {
    let saves = 0;
    const kernel: UserspaceKernel = {
      restore: async () => {}, listChains: async () => new Set(), ensureRule: async () => true, deleteRule: async () => {},
      save: async () => (saves++, ''),
    };
    const backend = new UserspaceBackend({ ctx, logger: pino({ level: 'silent' }), kernels: { IPv4: kernel } });
    try {
      await backend.sync({ IPv4: familyState(web), IPv6: new Map() });
      saves = 0;
      const drift = await backend.checkDrift();
      expect(saves).toBe(2);
      expect(drift[0]).toBe('IPv4: the redirect rules differ from the last sync\'s'); // the kernel here keeps nothing
      expect(drift).toHaveLength(8); // and no jump
    } finally {
      await backend.cleanup();
    }
  });
});

describe('holdsRules', () => {
  const decl = (chains: string[]) => chains.map((c) => `:${c} - [0:0]`);
  const nat = (rules: string[]) => ['*nat', ...decl(['KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST', 'KUBE-NODEPORT-CONTAINER', 'KUBE-NODEPORT-HOST']), ...rules, 'COMMIT'].join('\n');
  const filter = ['*filter', ...decl(['KUBE-PORTALS-FILTER']), 'COMMIT'].join('\n');
  const a1 = '-A KUBE-PORTALS-CONTAINER -d 10.96.0.11/32 -j DNAT --to-destination 127.0.0.1:1';
  const a2 = '-A KUBE-PORTALS-HOST -d 10.96.0.11/32 -j DNAT --to-destination 127.0.0.1:1';
  const b1 = '-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -j DNAT --to-destination 127.0.0.1:2';
  const b2 = '-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -j DNAT --to-destination 127.0.0.1:2';
  const restore = `${filter}\n${nat([a1, a2, b1, b2])}`;

  it('compares chain by chain: a restore interleaves chains that iptables-save lists one after another', () => {
    expect(holdsRules({ nat: nat([a1, b1, a2, b2]), filter }, restore)).toBe(true);
  });

  it('finds a rule missing, added or out of order within a chain', () => {
    expect(holdsRules({ nat: nat([a1, b1, a2]), filter }, restore)).toBe(false);
    expect(holdsRules({ nat: nat([a1, b1, a2, b2, b2]), filter }, restore)).toBe(false);
    expect(holdsRules({ nat: nat([b1, a1, a2, b2]), filter }, restore)).toBe(false);
    expect(holdsRules({ nat: nat([a1, b1, a2, b2]), filter: '*filter\nCOMMIT' }, restore)).toBe(false);
  });
});
