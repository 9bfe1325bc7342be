// `svcplane plan --diff`: only what a sync of the mode would change here, the kernel's
// state read back as the mode's applier reads it (live-state.ts), nothing written.
import { planEbpf } from '../backends/ebpf/planner.js';
import { renderMaps } from '../backends/ebpf/maps-report.js';
import { planFull as planIptables } from '../backends/iptables/planner.js';
import { rulesDiff } from '../backends/iptables/rules-diff.js';
import { IPVS_IPTABLES_CHAINS, IPVS_IPTABLES_JUMPS, renderIpvsIptables } from '../backends/ipvs/ipvs-iptables.js';
import { planIpvs, type IpvsPlan } from '../backends/ipvs/ipvs-planner.js';
import { ipvsIpsetContents } from '../backends/ipvs/ipvs-ipsets.js';
import type { IpvsOp } from '../backends/ipvs/ipvs-types.js';
import { desiredVirtualServers, type DesiredIpvs } from '../backends/ipvs/virtual-servers.js';
import { parseNftList } from '../backends/nftables/list-parse.js';
import { objectsDiff } from '../backends/nftables/objects-diff.js';
import { TABLE_NAME } from '../backends/nftables/objects.js';
import { memoObjects, planFull as planNftables } from '../backends/nftables/planner.js';
import { isUserspaceChain, JUMPS as USERSPACE_JUMPS, renderRules } from '../backends/userspace/redirect-rules.js';
import { describeService } from '../kernel/netlink/index.js';
import type { IPFamily } from '../model/types.js';
import type { NodeContext } from '../state/node-context.js';
import type { DesiredState } from '../state/types.js';
import { ebpfMaps, iptablesSave, ipvsBoundAddresses, ipvsDump, ipvsIpsets, nftTable, type LiveOptions } from './live-state.js';
import { userspaceWants, type PlannedMode, type PlanInput } from './plan-modes.js';
import { liveListenerPorts } from './trace-modes.js';

const IPVS_CHAINS: ReadonlySet<string> = new Set<string>([...IPVS_IPTABLES_CHAINS.nat, ...IPVS_IPTABLES_CHAINS.filter]);

/** `changes`: default, the `+`/`-` lines (a `~` line only heads the `+`/`-` lines under it). */
function section(title: string, lines: readonly string[], changes = lines.filter((l) => /^[+-]/.test(l)).length): string {
  return `# ${title}: ${changes === 0 ? 'no changes' : `${changes} change${changes === 1 ? '' : 's'}`}\n${lines.map((l) => `${l}\n`).join('')}`;
}

const IPVS_OP_SIGN: Readonly<Record<IpvsOp['op'], '+' | '-' | '~'>> = {
  'new-service': '+', 'new-dest': '+', 'del-service': '-', 'del-dest': '-', 'update-service': '~', 'update-dest': '~',
};

/** The planned members of the family's sets against `ipset list`'s (`live`: set name -> members; a set missing there: every member `+`). */
export function ipsetDiffLines(family: IPFamily, desired: DesiredIpvs, live: ReadonlyMap<string, readonly string[]>, state: DesiredState, ctx: NodeContext): string[] {
  const lines: string[] = [];
  for (const { set, entries } of ipvsIpsetContents(family, desired.virtualServers.values(), state, ctx)) {
    const have = live.get(set.name);
    if (have === undefined) lines.push(`+ create ${set.name} ${set.type}`);
    const haveSet = new Set(have ?? []);
    const want = new Set(entries);
    lines.push(...[...haveSet].filter((m) => !want.has(m)).sort().map((m) => `- ${set.name} ${m}`));
    lines.push(...entries.filter((m) => !haveSet.has(m)).map((m) => `+ ${set.name} ${m}`));
  }
  return lines;
}

/** One line per op of an IPVS sync plan and per kube-ipvs0 address: every one is a change. */
export function ipvsDiffLines(plan: Pick<IpvsPlan, 'ops' | 'addresses'>): string[] {
  return [
    ...plan.ops.map((o) => `${IPVS_OP_SIGN[o.op]} ${o.op} ${describeService(o.service)}${o.dest !== undefined ? ` -> ${o.dest.address.includes(':') ? `[${o.dest.address}]` : o.dest.address}:${o.dest.port} weight ${o.dest.weight}` : ''}`),
    ...plan.addresses.add.map((a) => `+ kube-ipvs0 ${a}`),
    ...plan.addresses.remove.map((a) => `- kube-ipvs0 ${a}`),
  ];
}

/** Line differences of two texts as sets (`-` only in `have`, `+` only in `want`). */
function lineDiff(want: string, have: string): string[] {
  const w = want.split('\n').filter(Boolean);
  const h = have.split('\n').filter(Boolean);
  return [...h.filter((l) => !w.includes(l)).map((l) => `- ${l}`), ...w.filter((l) => !h.includes(l)).map((l) => `+ ${l}`)];
}

export async function planDiff(mode: PlannedMode, p: PlanInput, opts: LiveOptions): Promise<string> {
  let out = '';
  switch (mode) {
    case 'iptables':
      for (const family of p.families) {
        const plan = planIptables(p.state[family], { family, ctx: p.ctx });
        out += section(`iptables (${family})`, rulesDiff(plan, await iptablesSave(family, opts), (c) => c.startsWith('KUBE-') && !isUserspaceChain(c)));
      }
      return out;
    case 'nftables':
      for (const family of p.families) {
        const planned = memoObjects(planNftables(p.state[family], { family, ctx: p.ctx }));
        const text = await nftTable(family, TABLE_NAME);
        out += section(`nftables table ${planned.family} ${TABLE_NAME}`, objectsDiff(planned, text === undefined ? undefined : parseNftList(text)));
      }
      return out;
    case 'ipvs': {
      const desired = desiredVirtualServers(p.state, p.ctx, { scheduler: p.ipvsScheduler });
      const current = { services: ipvsDump(), boundAddresses: ipvsBoundAddresses() };
      const plan = planIpvs(desired, current, { ownedAddresses: desired.nodePortAddresses, gracePeriodMs: 0, now: 0, terminating: new Map() });
      // Every op is a change: `+` adds, `-` deletes, `~` updates in place (scheduler, flags, weight).
      const lines = ipvsDiffLines(plan);
      out += section('ipvs (virtual servers, real servers, kube-ipvs0 addresses)', lines, lines.length);
      for (const family of p.families) out += section(`ipsets (${family}): the members the IPVS mode's companion rules match`, ipsetDiffLines(family, desired, await ipvsIpsets(family), p.state, p.ctx));
      for (const family of p.families) {
        const restore = renderIpvsIptables(family, p.ctx);
        out += section(`iptables (${family}): the IPVS mode's companion rules`, rulesDiff({ restore, jumps: IPVS_IPTABLES_JUMPS }, await iptablesSave(family, opts), (c) => IPVS_CHAINS.has(c)));
      }
      return out;
    }
    case 'ebpf': {
      const live = ebpfMaps(opts);
      // Planned from the kernel's maps, as a sync would: ids and indexes in use are kept.
      const plan = planEbpf(p.state, p.ctx, live, { algorithm: p.ebpfAlgorithm });
      const lines = lineDiff(renderMaps(plan.content), renderMaps(live)).filter((l) => !/ frontends, \d+ backends, /.test(l));
      return section(`eBPF maps (${plan.ops.length} map writes)`, lines);
    }
    case 'userspace': {
      const wants = userspaceWants(p);
      if (p.userspace.noRedirect !== undefined) return section('userspace (--userspace-no-redirect: listeners only, no kernel state)', []);
      for (const family of p.families) {
        const save = await iptablesSave(family, opts);
        // The listeners' ports are the kernel's choice: compare with the ports the live rules name.
        const ports = liveListenerPorts(save, wants);
        // A listener without backends has only REJECT or DROP rules, which name no port.
        for (const w of wants) if (w.backends.length === 0 && !ports.has(w.id)) ports.set(w.id, 1);
        const restore = renderRules(family, wants, ports).restore;
        const missing = wants.filter((w) => w.family === family && w.backends.length > 0 && w.frontends.length > 0 && !liveListenerPorts(save, [w]).has(w.id));
        const lines = [...rulesDiff({ restore, jumps: USERSPACE_JUMPS }, save, isUserspaceChain), ...missing.map((w) => `+ redirects of ${w.servicePort} (${w.path}) to a listener not bound yet`)];
        out += section(`iptables (${family}): the userspace redirects`, lines);
      }
      return out;
    }
  }
}
