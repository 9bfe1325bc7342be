// What `svcplane plan` prints per mode: the mode's full plan for the given state, in the
// form its own tool reads (iptables-restore, nft -f, ipvsadm -R, `svcplane maps`).
import { planEbpf } from '../backends/ebpf/planner.js';
import { emptyMapsContent } from '../backends/ebpf/maps-content.js';
import { renderMaps } from '../backends/ebpf/maps-report.js';
import type { EbpfAlgorithm } from '../backends/ebpf/frontends.js';
import { planFull as planIptables } from '../backends/iptables/planner.js';
import { ipvsadmRestoreText } from '../backends/ipvs/ipvsadm-text.js';
import { renderIpvsIptables } from '../backends/ipvs/ipvs-iptables.js';
import { ipsetRestore, ipvsIpsetContents } from '../backends/ipvs/ipvs-ipsets.js';
import { desiredVirtualServers } from '../backends/ipvs/virtual-servers.js';
import { fullTransaction } from '../backends/nftables/full-transaction.js';
import { planFull as planNftables } from '../backends/nftables/planner.js';
import type { IPFamily } from '../model/types.js';
import type { NodeContext } from '../state/node-context.js';
import type { DesiredState } from '../state/types.js';

export type PlannedMode = 'iptables' | 'nftables' | 'ipvs' | 'ebpf';
export const PLANNED_MODES: readonly PlannedMode[] = ['iptables', 'nftables', 'ipvs', 'ebpf'];

export interface PlanInput {
  readonly state: DesiredState;
  readonly ctx: NodeContext;
  readonly families: readonly IPFamily[];
  readonly ipvsScheduler: string;
  readonly ebpfAlgorithm: EbpfAlgorithm;
}

const RESTORE_COMMAND: Record<IPFamily, string> = { IPv4: 'iptables-restore', IPv6: 'ip6tables-restore' };

function jumpComments(jumps: readonly { table: string; chain: string; args: readonly string[] }[]): string[] {
  return jumps.map((j) => `# ensured outside the batch: -t ${j.table} -I ${j.chain} ${j.args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`);
}

function iptablesText(p: PlanInput): string {
  let out = '';
  for (const family of p.families) {
    const plan = planIptables(p.state[family], { family, ctx: p.ctx });
    const head = [`# ${RESTORE_COMMAND[family]} --noflush input (${family}, ${p.state[family].size} service ports)`, ...jumpComments(plan.jumps)];
    out += `${head.join('\n')}\n${plan.restore}`;
  }
  return out;
}

function nftablesText(p: PlanInput): string {
  let out = '';
  for (const family of p.families) {
    const memo = planNftables(p.state[family], { family, ctx: p.ctx });
    out += `# nft -f input (${family}, ${p.state[family].size} service ports)\n${fullTransaction(memo, undefined).script}`;
  }
  return out;
}

function ipvsText(p: PlanInput): string {
  const desired = desiredVirtualServers(p.state, p.ctx, { scheduler: p.ipvsScheduler });
  let out = `# ipvsadm -R input (${desired.virtualServers.size} virtual servers)\n${ipvsadmRestoreText(desired)}`;
  for (const family of p.families) {
    out += `# ipset -exist restore input: the sets the rules below name (${family})\n`;
    for (const { set, entries } of ipvsIpsetContents(family, desired.virtualServers.values())) out += ipsetRestore(set, entries);
    out += `# ${RESTORE_COMMAND[family]} --noflush input: the IPVS mode's companion rules (${family})\n`;
    out += renderIpvsIptables(family, desired, p.state[family], p.ctx);
  }
  for (const problem of desired.problems) out += `# problem: ${problem.message}\n`;
  return out;
}

function ebpfText(p: PlanInput): string {
  const plan = planEbpf(p.state, p.ctx, emptyMapsContent(), { algorithm: p.ebpfAlgorithm });
  return `# eBPF maps as \`svcplane maps\` prints them (${plan.stats.frontends} frontends, ${plan.ops.length} map writes from empty)\n${renderMaps(plan.content)}`;
}

/** The full plan of `mode`, as text for its own tool. */
export function planText(mode: PlannedMode, input: PlanInput): string {
  switch (mode) {
    case 'iptables': return iptablesText(input);
    case 'nftables': return nftablesText(input);
    case 'ipvs': return ipvsText(input);
    case 'ebpf': return ebpfText(input);
  }
}
