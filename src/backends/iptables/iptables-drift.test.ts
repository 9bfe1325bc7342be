// The iptables-nft drift check on a real kernel: right after svcplane's own restores (full, split
// into several transactions, and partial) nothing is read back, since the ruleset generation moved
// by exactly the transactions they committed; a rule deleted by hand is found, also when a partial
// sync of another service came between the edit and the check.
import { describe, expect, it } from 'vitest';
import { withNftNetlink } from '../../../test/lib/nft-netns.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { runChecked } from '../../kernel/exec.js';
import { Iptables } from '../../kernel/iptables.js';
import { NftNetlink } from '../../kernel/netlink/nftables.js';
import { defaultNodeContext } from '../../state/node-context.js';
import { IptablesBackend } from './iptables-backend.js';

const ctx = defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10'], clusterCIDRs: ['10.244.0.0/16'] });
const svc = (name: string, ip: string, eps: string[]) => servicePort({ serviceName: name, clusterIP: ip, nodePort: 0, clusterEndpoints: eps.map((a) => endpoint(a, 8080)) });
const web = svc('web', '10.96.0.10', ['10.244.1.1', '10.244.2.2']);
const api = svc('api', '10.96.0.11', ['10.244.1.3']);
const db = svc('db', '10.96.0.12', ['10.244.1.5']);

const scratch = withNftNetlink('svcp-iptdrift');

describe('IptablesBackend.checkDrift on a real kernel (iptables-nft)', () => {
  it('reads nothing back after its own restores, and finds a rule deleted by hand', async () => {
    const { netlink: nl, name } = scratch();
    let reads = 0;
    const reader = { generation: () => nl.generation(), readRules: (...a: Parameters<NftNetlink['readRules']>) => (reads++, nl.readRules(...a)) };
    const kernel = new Iptables({ family: 'IPv4', variant: 'nft', netns: name });
    // Two services per transaction: the full sync is two restores plus the built-in chains' jumps.
    const backend = new IptablesBackend({ ctx, kernels: { IPv4: kernel }, netlink: reader, servicesPerTransaction: 2 });
    const all = { IPv4: familyState(web, api, db), IPv6: new Map() };
    await backend.sync(all); // also inserts the built-in chains' jumps (an `iptables -I` each)
    expect(await backend.checkDrift()).toEqual([]);
    expect(reads).toBe(0);
    await backend.sync(all);
    expect(await backend.checkDrift()).toEqual([]);
    expect(reads).toBe(0);

    const changes = (key: string) => ({ IPv4: new Set([key]), IPv6: new Set<string>(), serviceChanges: 0, endpointChanges: 1 });
    const api2 = svc('api', '10.96.0.11', ['10.244.1.3', '10.244.1.4']);
    expect((await backend.sync({ IPv4: familyState(web, api2, db), IPv6: new Map() }, changes(api.key))).kind).toBe('partial');
    expect(await backend.checkDrift()).toEqual([]);
    expect(reads).toBe(0);

    // A hand edit, then a partial sync of another service before any check.
    const { stdout } = await runChecked('ip', ['netns', 'exec', name, 'iptables-nft-save', '-t', 'nat']);
    const sep = stdout.split('\n').find((l) => l.startsWith('-A KUBE-SEP-') && l.includes('10.244.1.1'));
    expect(sep).toBeDefined();
    await runChecked('ip', ['netns', 'exec', name, 'iptables-nft', '-t', 'nat', '-F', (sep as string).split(' ')[1] as string]);
    await backend.sync({ IPv4: familyState(web, api, db), IPv6: new Map() }, changes(api.key));
    const drift = await backend.checkDrift();
    expect(reads).toBe(2); // nat and filter
    expect(drift.join('\n')).toMatch(/^IPv4 nat: \d+ rules in svcplane's chains/);
  });
});
