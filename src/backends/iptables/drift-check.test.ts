import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import { applyBatch, modelOf, type KernelModel } from '../../../test/lib/iptables-kernel-model.js';
import { familyState, numberedServicePort } from '../../../test/lib/state-fixtures.js';
import { countNetlinkRules, countSave, iptablesDrift } from './drift-check.js';
import type { IptablesPlan, JumpRule } from './plan-types.js';
import { planFull, planPartial } from './planner.js';

const opts = { family: 'IPv4' as const, ctx: defaultNodeContext({ clusterCIDRs: ['10.244.0.0/16'] }) };

const svc = numberedServicePort;

const web = svc('web', '10.96.0.10', 2, { nodePort: 30080 });
const api = svc('api', '10.96.0.11', 3);

/** iptables-save text of one table of the model, with the built-in chains' jumps and a foreign chain. */
function saveOf(model: KernelModel, table: 'nat' | 'filter', jumps: readonly JumpRule[]): string {
  const chains = model.get(table) ?? new Map<string, string[]>();
  const builtins = table === 'nat' ? ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] : ['INPUT', 'FORWARD', 'OUTPUT'];
  const lines = [`*${table}`, ...builtins.map((c) => `:${c} ACCEPT [12:3456]`), ':DOCKER - [0:0]', ...[...chains.keys()].map((c) => `:${c} - [0:0]`)];
  for (const j of jumps) if (j.table === table) lines.push(`-A ${j.chain} ${j.args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`);
  lines.push('-A DOCKER -j RETURN');
  for (const rules of chains.values()) lines.push(...rules);
  return lines.concat('COMMIT', '').join('\n');
}

function drift(plan: IptablesPlan, model: KernelModel, jumps = plan.jumps): string[] {
  return iptablesDrift(plan.memo, { nat: countSave('nat', saveOf(model, 'nat', jumps)), filter: countSave('filter', saveOf(model, 'filter', jumps)) }, plan.jumps);
}

describe('iptables drift check', () => {
  it('finds nothing when the kernel holds what a full and then a partial plan wrote', () => {
    const full = planFull(familyState(web, api), opts);
    const model = modelOf(full.restore);
    expect(drift(full, model)).toEqual([]);
    const partial = planPartial(familyState(web, svc('api', '10.96.0.11', 5)), new Set([api.key]), full.memo, opts);
    applyBatch(model, partial.restore);
    expect(drift({ ...partial, jumps: full.jumps }, model)).toEqual([]);
  });

  it('names the service port one of whose endpoint rules was deleted by hand', () => {
    const full = planFull(familyState(web, api), opts);
    const model = modelOf(full.restore);
    const nat = model.get('nat') as Map<string, string[]>;
    const sep = [...nat.keys()].find((c) => c.startsWith('KUBE-SEP-') && (nat.get(c) ?? []).some((l) => l.includes('10.244.11.')));
    nat.get(sep as string)?.pop();
    const found = drift(full, model);
    expect(found.join('\n')).toMatch(/nat: \d+ rules in svcplane's chains, the last sync wrote \d+/);
    expect(found.join('\n')).toContain(`service ports whose chains changed: ${api.key}`);
    expect(found.join('\n')).not.toContain(web.key);
  });

  it('finds a flushed KUBE-SERVICES, a deleted chain, a stray chain of ours and a missing jump', () => {
    const full = planFull(familyState(web, api), opts);
    const flushed = modelOf(full.restore);
    (flushed.get('nat') as Map<string, string[]>).set('KUBE-SERVICES', []);
    expect(drift(full, flushed).join('\n')).toMatch(/^nat: \d+ rules/m);

    const deleted = modelOf(full.restore);
    const nat = deleted.get('nat') as Map<string, string[]>;
    const svcChain = [...nat.keys()].find((c) => c.startsWith('KUBE-SVC-')) as string;
    nat.delete(svcChain);
    expect(drift(full, deleted).join('\n')).toContain(`nat: chains missing: ${svcChain}`);

    const stray = modelOf(full.restore);
    (stray.get('nat') as Map<string, string[]>).set('KUBE-SEP-STRAYSTRAYSTRAY', ['-A KUBE-SEP-STRAYSTRAYSTRAY -j RETURN']);
    expect(drift(full, stray).join('\n')).toContain('nat: chains not in the last sync: KUBE-SEP-STRAYSTRAYSTRAY');

    const withoutPrerouting = full.jumps.filter((j) => !(j.table === 'nat' && j.chain === 'PREROUTING'));
    expect(drift(full, modelOf(full.restore), withoutPrerouting)).toEqual(['nat: PREROUTING has 0 jumps into svcplane\'s chains, 1 expected']);
  });

  it('counts a save in one pass: chains of ours declared empty count 0, foreign chains are left out', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-Y - [0:0]\n:OTHER - [0:0]\n-A PREROUTING -m comment --comment "a b" -j KUBE-SERVICES\n-A PREROUTING -j OTHER\n-A KUBE-SVC-X -j KUBE-SEP-Z\n-A OTHER -j KUBE-SVC-X\nCOMMIT\n';
    const c = countSave('nat', save);
    expect(Object.fromEntries(c.chains)).toEqual({ 'KUBE-SVC-X': 1, 'KUBE-SEP-Y': 0 });
    expect(Object.fromEntries(c.jumps)).toEqual({ PREROUTING: 1, OTHER: 1 });
  });

  it('counts a netlink read-back of an iptables-nft table the same way', () => {
    const rules = { chains: new Map([['PREROUTING', 2], ['KUBE-SVC-X', 1], ['KUBE-SEP-Y', 0], ['DOCKER', 4]]), verdicts: new Map([['PREROUTING', ['KUBE-SERVICES', 'DOCKER']], ['DOCKER', []]]) };
    const c = countNetlinkRules('nat', rules);
    expect(Object.fromEntries(c.chains)).toEqual({ 'KUBE-SVC-X': 1, 'KUBE-SEP-Y': 0 });
    expect(Object.fromEntries(c.jumps)).toEqual({ PREROUTING: 1 });
  });
});
