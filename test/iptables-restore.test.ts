// The planner's batches against the real iptables-restore, inside a scratch
// network namespace: every golden case must pass `--test`, and full and
// partial plans are restored for real and read back with iptables-save.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IPFamily } from '../src/model/types.js';
import { planFull, planPartial, type IptablesPlan } from '../src/backends/iptables/planner.js';
import { defaultNodeContext } from '../src/state/node-context.js';
import { GOLDEN_CASES } from './lib/iptables-golden-cases.js';
import { endpoint, familyState, servicePort } from './lib/state-fixtures.js';

const run = promisify(execFile);
const ns = `svcp-plan-${randomBytes(4).toString('hex')}`;

function restoreCmd(family: IPFamily): string {
  return family === 'IPv6' ? 'ip6tables-restore' : 'iptables-restore';
}

/** Feed `input` to (ip6)iptables-restore in the namespace; resolves with its exit code and stderr. */
function restore(family: IPFamily, input: string, test: boolean): Promise<{ code: number | null; stderr: string }> {
  const args = ['netns', 'exec', ns, restoreCmd(family), '-w', '--noflush', ...(test ? ['--test'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

async function expectRestore(family: IPFamily, input: string, test: boolean): Promise<void> {
  const r = await restore(family, input, test);
  expect(r.stderr, input).toBe('');
  expect(r.code).toBe(0);
}

async function save(family: IPFamily, table: 'nat' | 'filter'): Promise<string> {
  const cmd = family === 'IPv6' ? 'ip6tables-save' : 'iptables-save';
  return (await run('ip', ['netns', 'exec', ns, cmd, '-t', table])).stdout;
}

/** The KUBE-* chains an iptables-save dump shows (built-in chains left out). */
function chainsIn(saved: string): Set<string> {
  return new Set(saved.split('\n').filter((l) => l.startsWith(':KUBE-')).map((l) => l.slice(1).split(' ')[0] ?? ''));
}

function rulesOf(saved: string, chain: string): string[] {
  return saved.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

async function flushAll(): Promise<void> {
  for (const cmd of ['iptables', 'ip6tables']) {
    for (const table of ['nat', 'filter']) {
      await run('ip', ['netns', 'exec', ns, cmd, '-t', table, '-F']);
      await run('ip', ['netns', 'exec', ns, cmd, '-t', table, '-X']);
    }
  }
}

beforeAll(async () => {
  await run('ip', ['netns', 'add', ns]);
});

afterAll(async () => {
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
});

describe('golden batches pass iptables-restore --test', () => {
  for (const c of GOLDEN_CASES) {
    it(c.name, async () => {
      const plan = planFull(c.state, { family: c.family, ctx: c.ctx }, c.existing);
      await expectRestore(c.family, plan.restore, true);
    });
  }
});

describe('restored for real', () => {
  const opts = { family: 'IPv4' as const, ctx: defaultNodeContext({ clusterCIDRs: ['10.244.0.0/16'] }) };
  const web = servicePort({ nodePort: 30080, clusterEndpoints: [endpoint('10.244.1.5', 8080), endpoint('10.244.2.6', 8080)] });
  const api = servicePort({ serviceName: 'api', clusterIP: '10.96.0.20', clusterEndpoints: [endpoint('10.244.3.7', 9000)] });

  async function apply(plan: IptablesPlan): Promise<void> {
    await expectRestore(plan.family, plan.restore, true);
    await expectRestore(plan.family, plan.restore, false);
  }

  it('a full plan creates every chain it reports, and the jump rules are accepted', async () => {
    await flushAll();
    const plan = planFull(familyState(web, api), opts);
    await apply(plan);
    const nat = await save('IPv4', 'nat');
    const filter = await save('IPv4', 'filter');
    for (const c of plan.chains.nat) expect(chainsIn(nat)).toContain(c);
    for (const c of plan.chains.filter) expect(chainsIn(filter)).toContain(c);
    expect(rulesOf(nat, 'KUBE-SERVICES')).toHaveLength(3);
    expect(nat.split('\n').filter((l) => l.startsWith('-A ')).length).toBe(plan.stats.natRules);
    for (const j of plan.jumps) {
      await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '-t', j.table, '-I', j.chain, ...j.args]);
      await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '-t', j.table, '-C', j.chain, ...j.args]);
    }
  });

  it('partial plans apply on top of a full one: endpoint removal, service removal, service addition', async () => {
    await flushAll();
    const full = planFull(familyState(web, api), opts);
    await apply(full);
    const before = chainsIn(await save('IPv4', 'nat'));

    // One endpoint of web goes away: its SEP chain is deleted.
    const web1 = { ...web, clusterEndpoints: web.clusterEndpoints.slice(0, 1) };
    const p1 = planPartial(familyState(web1, api), new Set([web.key]), full.memo, opts);
    await apply(p1);
    const after1 = chainsIn(await save('IPv4', 'nat'));
    expect([...before].filter((c) => !after1.has(c))).toHaveLength(1);

    // api is removed: its chains go, KUBE-SERVICES loses its rule.
    const p2 = planPartial(familyState(web1), new Set([api.key]), p1.memo, opts);
    await apply(p2);
    const nat2 = await save('IPv4', 'nat');
    expect([...chainsIn(nat2)].sort()).toEqual([...p2.chains.nat].sort());
    expect(rulesOf(nat2, 'KUBE-SERVICES').some((l) => l.includes('default/api'))).toBe(false);

    // api comes back: KUBE-SERVICES gains it again, and the kernel matches a fresh full plan.
    const p3 = planPartial(familyState(web1, api), new Set([api.key]), p2.memo, opts);
    await apply(p3);
    const nat3 = await save('IPv4', 'nat');
    const fresh = planFull(familyState(web1, api), opts);
    expect([...chainsIn(nat3)].sort()).toEqual([...fresh.chains.nat].sort());
    expect(nat3.split('\n').filter((l) => l.startsWith('-A ')).length).toBe(fresh.stats.natRules);
    expect(p3.stats.natRules).toBe(fresh.stats.natRules);
  });

  it('a full plan split into several transactions restores to the same rules as one transaction', async () => {
    await flushAll();
    const ports = Array.from({ length: 5 }, (_, i) => servicePort({ serviceName: `s${i}`, clusterIP: `10.96.1.${i + 1}`, clusterEndpoints: [endpoint(`10.244.1.${i + 1}`, 8080), endpoint(`10.244.2.${i + 1}`, 8080)] }));
    const single = planFull(familyState(...ports), opts);
    await apply(single);
    const expected = await save('IPv4', 'nat');
    await flushAll();
    // Over an older ruleset whose api service is gone: the final transaction deletes its chains.
    const old = planFull(familyState(api, ports[0] as (typeof ports)[number]), opts);
    await apply(old);
    const split = planFull(familyState(...ports), opts, { nat: [...old.chains.nat], filter: [...old.chains.filter] }, { servicesPerTransaction: 2 });
    expect(split.prelude.length).toBe(4);
    for (const t of split.prelude) await expectRestore('IPv4', t, false);
    await apply(split);
    const strip = (t: string): string[] => t.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':KUBE')).sort();
    expect(strip(await save('IPv4', 'nat'))).toEqual(strip(expected));
  });

  it('an IPv6 plan restores with ip6tables-restore', async () => {
    const v6 = GOLDEN_CASES.find((c) => c.name === 'ipv6');
    if (v6 === undefined) throw new Error('ipv6 golden case missing');
    const plan = planFull(v6.state, { family: 'IPv6', ctx: v6.ctx });
    await expectRestore('IPv6', plan.restore, false);
    const nat = await save('IPv6', 'nat');
    for (const c of plan.chains.nat) expect(chainsIn(nat)).toContain(c);
    expect(nat).toContain('--to-destination [fd00:10:244:1::5]:8080');
  });
});
