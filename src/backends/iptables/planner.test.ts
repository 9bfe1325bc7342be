import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import { parseBatch, unknownTargets } from '../../../test/lib/iptables-batch.js';
import { applyBatch, danglingJumps, modelOf, snapshot } from '../../../test/lib/iptables-kernel-model.js';
import { endpoint, familyState, numberedServicePort, servicePort } from '../../../test/lib/state-fixtures.js';
import { IptablesPlanError } from './errors.js';
import { planFull, planPartial } from './planner.js';

const opts = { family: 'IPv4' as const, ctx: defaultNodeContext({ clusterCIDRs: ['10.244.0.0/16'] }) };

const svc = numberedServicePort;

const web = svc('web', '10.96.0.10', 2, { nodePort: 30080 });
const api = svc('api', '10.96.0.11', 3);
const db = svc('db', '10.96.0.12', 1);
const base = familyState(web, api, db);

function declared(restore: string, table: 'nat' | 'filter'): string[] {
  return parseBatch(restore)[table]?.declared ?? [];
}

describe('planPartial', () => {
  it('an endpoint change writes only that service port\'s chains, not KUBE-SERVICES', () => {
    const full = planFull(base, opts);
    const api4 = svc('api', '10.96.0.11', 4);
    const p = planPartial(familyState(web, api4, db), new Set([api.key]), full.memo, opts);
    expect(p.kind).toBe('partial');
    expect(parseBatch(p.restore)['filter']).toBeUndefined();
    const nat = declared(p.restore, 'nat');
    expect(nat).not.toContain('KUBE-SERVICES');
    // Only api's chains: its SVC chain (4 endpoint rules now) and its 4 SEP chains.
    expect(nat).toHaveLength(5);
    expect(nat.filter((c) => c.startsWith('KUBE-SVC-'))).toHaveLength(1);
    expect(nat.every((c) => full.restore.includes(`-A ${c} -m comment --comment "default/api:http`) || !full.chains.nat.has(c))).toBe(true);
    expect(p.stats).toMatchObject({ chainsWritten: 5, chainsDeleted: 0, rulesWritten: 1 + 4 + 4 * 2 }); // masquerade rule, 4 endpoint rules, 4 SEP chains of 2
    expect(p.stats.natRules).toBe(full.stats.natRules + 1 + 2);
  });

  it('adding a service port rewrites KUBE-SERVICES with every service\'s lines', () => {
    const full = planFull(familyState(web, api), opts);
    const p = planPartial(base, new Set([db.key]), full.memo, opts);
    const form = parseBatch(p.restore);
    expect(form['nat']?.declared).toContain('KUBE-SERVICES');
    expect(form['nat']?.declared).not.toContain('KUBE-NODEPORTS');
    expect(form['nat']?.chains['KUBE-SERVICES']).toEqual(parseBatch(planFull(base, opts).restore)['nat']?.chains['KUBE-SERVICES']);
  });

  it('removing a service port deletes its chains and rewrites the top level without it', () => {
    const full = planFull(base, opts);
    const p = planPartial(familyState(web, db), new Set([api.key]), full.memo, opts);
    const form = parseBatch(p.restore);
    const apiChains = [...full.chains.nat].filter((c) => !p.chains.nat.has(c)).sort();
    expect(apiChains).toHaveLength(4); // SVC + 3 SEP
    expect(form['nat']?.removed).toEqual(apiChains);
    expect(form['nat']?.declared).toEqual(expect.arrayContaining([...apiChains, 'KUBE-SERVICES']));
    expect(form['nat']?.chains['KUBE-SERVICES']?.some((l) => l.includes('default/api'))).toBe(false);
    expect(p.stats.chainsDeleted).toBe(4);
  });

  it('an endpoint removal deletes its SEP chain', () => {
    const full = planFull(base, opts);
    const api2 = { ...api, clusterEndpoints: api.clusterEndpoints.slice(0, 2) };
    const p = planPartial(familyState(web, api2, db), new Set([api.key]), full.memo, opts);
    const form = parseBatch(p.restore);
    expect(form['nat']?.removed).toHaveLength(1);
    const gone = form['nat']?.removed[0] ?? '';
    expect(gone).toMatch(/^KUBE-SEP-/);
    expect(full.restore).toContain(`--comment "default/api:http -> 10.244.11.3:8080" -j ${gone}`);
    expect(p.chains.nat.has(gone)).toBe(false);
  });

  it('a change that renders the same rules rewrites only that port\'s own chains', () => {
    const full = planFull(base, opts);
    const p = planPartial(base, new Set([web.key, 'default/ghost:http']), full.memo, opts);
    expect(parseBatch(p.restore)['filter']).toBeUndefined();
    const webChains = full.memo.fragments.get(web.key)?.natChains ?? [];
    expect(webChains.length).toBe(4); // SVC, EXT, 2 SEP
    expect(declared(p.restore, 'nat').sort()).toEqual([...webChains].sort());
    expect(p.stats).toMatchObject({ chainsDeleted: 0, natRules: full.stats.natRules });
  });

  it('writes nothing when no key changed', () => {
    const full = planFull(base, opts);
    const p = planPartial(base, new Set(), full.memo, opts);
    expect(p.restore).toBe('');
    expect(p.stats).toMatchObject({ chainsWritten: 0, rulesWritten: 0, chainsDeleted: 0, natRules: full.stats.natRules });
  });

  it('converges to what a full plan writes, over a sequence of changes', () => {
    const states = [
      base,
      familyState(web, svc('api', '10.96.0.11', 5), db),
      familyState(svc('web', '10.96.0.10', 2, { nodePort: 30080, externalPolicyLocal: true }), db),
      familyState(svc('web', '10.96.0.10', 0, { nodePort: 30080 }), db, svc('zz', '10.96.0.99', 2, { loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['10.0.0.0/8'] })),
      familyState(svc('aa', '10.96.0.98', 1), svc('zz', '10.96.0.99', 2, { loadBalancerIPs: ['198.51.100.1'] })),
    ];
    let plan = planFull(states[0] ?? base, opts);
    const kernel = modelOf(plan.restore);
    for (let i = 1; i < states.length; i++) {
      const prev = states[i - 1] ?? base;
      const next = states[i] ?? base;
      const changed = new Set([...prev.keys(), ...next.keys()]);
      plan = planPartial(next, changed, plan.memo, opts);
      applyBatch(kernel, plan.restore);
      expect(danglingJumps(kernel)).toEqual([]);
      const fresh = planFull(next, opts);
      expect(snapshot(kernel)).toEqual(snapshot(modelOf(fresh.restore)));
      expect(plan.stats.natRules).toBe(fresh.stats.natRules);
      expect(plan.stats.filterRules).toBe(fresh.stats.filterRules);
      expect([...plan.chains.nat].sort()).toEqual([...fresh.chains.nat].sort());
    }
  });

  it('a full plan split into transactions ends where the single transaction does, never dangling in between', () => {
    const many = familyState(...Array.from({ length: 7 }, (_, i) => svc(`s${i}`, `10.96.1.${i + 1}`, (i % 3) + 1, i === 2 ? { nodePort: 30000 + i } : {})));
    const single = planFull(many, opts);
    // Start from an older state with a service that is gone now: its chains must go in the final step.
    const old = planFull(familyState(svc('gone', '10.96.9.9', 2), svc('s0', '10.96.1.1', 3)), opts);
    const kernel = modelOf(old.restore);
    const existing = { nat: [...old.chains.nat], filter: [...old.chains.filter] };
    const split = planFull(many, opts, existing, { servicesPerTransaction: 3 });
    expect(split.prelude).toHaveLength(1 + 3); // KUBE-MARK-MASQ, then 3 + 3 + 1 service ports
    for (const t of split.prelude) {
      applyBatch(kernel, t);
      expect(danglingJumps(kernel)).toEqual([]);
      // The old entry points still work meanwhile: KUBE-SERVICES is untouched until the last step.
      expect(snapshot(kernel)['nat']?.['KUBE-SERVICES']).toEqual(snapshot(modelOf(old.restore))['nat']?.['KUBE-SERVICES']);
    }
    applyBatch(kernel, split.restore);
    expect(danglingJumps(kernel)).toEqual([]);
    expect(snapshot(kernel)).toEqual(snapshot(modelOf(single.restore)));
    expect({ ...split.stats, chainsDeleted: 0 }).toEqual(single.stats);
    expect(split.stats.chainsDeleted).toBeGreaterThan(0);
    expect(planFull(many, opts, undefined, { servicesPerTransaction: 100 }).prelude).toEqual([]);
  });

  it('falls back to a full plan when node options changed, removing chains no longer wanted', () => {
    const full = planFull(base, opts);
    const other = { family: 'IPv4' as const, ctx: defaultNodeContext({ masqueradeAll: true }) };
    const p = planPartial(familyState(web, db), new Set([db.key]), full.memo, other);
    expect(p.kind).toBe('full');
    expect(parseBatch(p.restore)['nat']?.removed).toHaveLength(4);
    expect(p.restore).toContain('-j KUBE-MARK-MASQ');
  });

  it('rejects a memo or a service port of the other family', () => {
    const full = planFull(base, opts);
    const v6 = { family: 'IPv6' as const, ctx: opts.ctx };
    expect(() => planPartial(base, new Set(), full.memo, v6)).toThrow(IptablesPlanError);
    try {
      planFull(base, v6);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IptablesPlanError);
      expect((e as IptablesPlanError).code).toBe('SVCPLANE_IPTABLES_FAMILY_MISMATCH');
    }
  });

  it('leaves the previous memo untouched (a failed apply can retry from it)', () => {
    const full = planFull(base, opts);
    const keys = [...full.memo.sortedKeys];
    planPartial(familyState(web), new Set([api.key, db.key]), full.memo, opts);
    expect(full.memo.sortedKeys).toEqual(keys);
    expect(full.memo.fragments.size).toBe(3);
    const again = planPartial(familyState(web), new Set([api.key, db.key]), full.memo, opts);
    expect(parseBatch(again.restore)['nat']?.removed).toHaveLength(6); // api: SVC + 3 SEP, db: SVC + 1 SEP
  });
});

describe('planFull', () => {
  it('declares every chain it writes or jumps to, and reports jumps from the built-in chains', () => {
    const plan = planFull(base, opts);
    expect(unknownTargets(plan.restore)).toEqual([]);
    expect(plan.jumps.map((j) => `${j.table}/${j.chain}`)).toEqual([
      'filter/INPUT', 'filter/OUTPUT', // KUBE-FIREWALL first, as kube-proxy ensures it
      'nat/PREROUTING', 'nat/OUTPUT', 'nat/POSTROUTING', 'filter/INPUT', 'filter/INPUT', 'filter/INPUT',
      'filter/FORWARD', 'filter/FORWARD', 'filter/FORWARD', 'filter/FORWARD', 'filter/OUTPUT', 'filter/OUTPUT',
    ]);
    const lines = plan.restore.split('\n').filter((l) => l.startsWith('-A '));
    expect(lines.length).toBe(plan.stats.rulesWritten);
    expect(plan.stats.natRules + plan.stats.filterRules).toBe(plan.stats.rulesWritten);
  });

  it('never deletes chains that are not svcplane\'s', () => {
    const plan = planFull(base, opts, { nat: ['KUBE-MARK-DROP', 'KUBE-KUBELET-CANARY', 'DOCKER', 'KUBE-SVC-OLDOLDOLDOLDOLDO'], filter: ['KUBE-KUBELET-CANARY', 'DOCKER-USER'] });
    expect(parseBatch(plan.restore)['nat']?.removed).toEqual(['KUBE-SVC-OLDOLDOLDOLDOLDO']);
    expect(parseBatch(plan.restore)['filter']?.removed).toEqual([]);
  });

  it('sanitises user-derived names in comments: nothing unsanitised reaches the batch', () => {
    const nasty = servicePort({
      namespace: 'ns" -j ACCEPT "',
      serviceName: 'x y\nz$(reboot)`id`',
      portName: "p\\'q\r\n*nat\nCOMMIT",
      clusterEndpoints: [endpoint('10.244.1.1', 80)],
      nodePort: 30001,
      healthCheckNodePort: 30002,
    });
    const plan = planFull(familyState(nasty), opts);
    expect(plan.restore).not.toMatch(/\$\(|`|\\|'|\r/);
    expect(plan.restore.split('\n').filter((l) => l === 'COMMIT')).toHaveLength(2);
    for (const line of plan.restore.split('\n').filter((l) => l.startsWith('-A '))) {
      // Exactly one quoted string (the comment) or none: no quote was smuggled in.
      expect([0, 2]).toContain((line.match(/"/g) ?? []).length);
    }
    expect(plan.restore).toContain('"ns__-j_ACCEPT__/x_y_z__reboot__id_:p__q___nat_COMMIT cluster IP"');
  });

  it('closes a load balancer whose source ranges are all of the other family', () => {
    const lb = svc('lb', '10.96.0.50', 1, { loadBalancerIPs: ['198.51.100.9'], loadBalancerSourceRanges: ['fd00::/64'] });
    const form = parseBatch(planFull(familyState(lb), opts).restore);
    const fw = Object.keys(form['nat']?.chains ?? {}).find((c) => c.startsWith('KUBE-FW-'));
    expect(form['nat']?.declared.filter((c) => c.startsWith('KUBE-FW-'))).toHaveLength(1);
    expect(fw).toBeUndefined(); // declared, but accepts nobody
    expect(form['filter']?.chains['KUBE-PROXY-FIREWALL']).toHaveLength(1);
  });

  it('caps comments at 255 characters', () => {
    const long = servicePort({ namespace: 'n'.repeat(200), serviceName: 's'.repeat(200), clusterEndpoints: [endpoint('10.244.1.1', 80)] });
    const plan = planFull(familyState(long), opts);
    const comments = [...plan.restore.matchAll(/--comment "([^"]*)"/g)].map((m) => m[1] ?? '');
    expect(Math.max(...comments.map((c) => c.length))).toBe(255);
  });
});
