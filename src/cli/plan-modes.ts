// What `svcplane plan` prints per mode: the mode's full plan for the given state, in the
// form its own tool reads (iptables-restore, nft -f, ipvsadm -R, `svcplane maps`; the
// userspace mode: its listeners, and its redirects as an iptables-restore batch).
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
import { planListeners, type ListenerWant } from '../backends/userspace/planner.js';
import { JUMPS as USERSPACE_JUMPS, renderRules } from '../backends/userspace/redirect-rules.js';
import type { UserspaceSettings } from '../backends/userspace/userspace-backend.js';
import type { IPFamily } from '../model/types.js';
import type { NodeContext } from '../state/node-context.js';
import type { DesiredState } from '../state/types.js';

export type PlannedMode = 'iptables' | 'nftables' | 'ipvs' | 'ebpf' | 'userspace';
export const PLANNED_MODES: readonly PlannedMode[] = ['iptables', 'nftables', 'ipvs', 'ebpf', 'userspace'];

export interface PlanInput {
  readonly state: DesiredState;
  readonly ctx: NodeContext;
  readonly families: readonly IPFamily[];
  readonly ipvsScheduler: string;
  readonly ebpfAlgorithm: EbpfAlgorithm;
  readonly userspace: UserspaceSettings;
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
    for (const { set, entries } of ipvsIpsetContents(family, desired.virtualServers.values(), p.state, p.ctx)) out += ipsetRestore(set, entries);
    out += `# ${RESTORE_COMMAND[family]} --noflush input: the IPVS mode's companion rules (${family})\n`;
    out += renderIpvsIptables(family, p.ctx);
  }
  for (const problem of desired.problems) out += `# problem: ${problem.message}\n`;
  return out;
}

function ebpfText(p: PlanInput): string {
  const plan = planEbpf(p.state, p.ctx, emptyMapsContent(), { algorithm: p.ebpfAlgorithm });
  return `# eBPF maps as \`svcplane maps\` prints them (${plan.stats.frontends} frontends, ${plan.ops.length} map writes from empty)\n${renderMaps(plan.content)}`;
}

/** The userspace listeners the plan wants. */
export function userspaceWants(p: PlanInput): ListenerWant[] {
  const noRedirect = p.userspace.noRedirect;
  return planListeners(p.state, { ctx: p.ctx, ...(noRedirect !== undefined ? { noRedirect } : {}) });
}

function listenerLine(w: ListenerWant): string {
  const at = w.port === 0 ? `${w.host.includes(':') ? `[${w.host}]` : w.host}:(kernel-chosen)` : formatHostPortText(w.host, w.port);
  const to = w.backends.length === 0 ? `(no endpoints: ${w.none === 'drop' ? 'dropped' : 'rejected'})` : w.backends.map((b) => formatHostPortText(b.ip, b.port)).join(', ');
  const frontends = w.frontends.length === 0 ? '' : ` for ${w.frontends.map((f) => `${f.kind} ${formatHostPortText(f.address, f.port)}`).join(', ')}`;
  return `# listen ${w.protocol} ${at} ${w.servicePort} (${w.path})${frontends} -> ${to}`;
}

function formatHostPortText(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The redirect batch of one family; a DNAT to a kernel-chosen port (0 in the plan) is written without a port. */
export function userspaceRedirects(family: IPFamily, wants: readonly ListenerWant[]): string {
  const ports = new Map(wants.map((w) => [w.id, w.port]));
  return renderRules(family, wants, ports).restore.replace(/ --to-destination \[?([0-9a-fA-F:.]+?)\]?:0$/gm, ' --to-destination $1');
}

function userspaceText(p: PlanInput): string {
  const wants = userspaceWants(p);
  let out = `# userspace listeners (${wants.length})${p.userspace.noRedirect !== undefined ? ', no redirects (--userspace-no-redirect)' : ''}\n`;
  out += wants.map((w) => `${listenerLine(w)}\n`).join('');
  if (p.userspace.noRedirect !== undefined) return out;
  for (const family of p.families) {
    out += `# ${RESTORE_COMMAND[family]} --noflush input: the redirects (${family}); a DNAT without a port goes to its listener's kernel-chosen port, written by the agent once bound\n`;
    out += jumpComments(USERSPACE_JUMPS).map((l) => `${l}\n`).join('');
    out += userspaceRedirects(family, wants);
  }
  return out;
}

/** The full plan of `mode`, as text for its own tool. */
export function planText(mode: PlannedMode, input: PlanInput): string {
  switch (mode) {
    case 'iptables': return iptablesText(input);
    case 'nftables': return nftablesText(input);
    case 'ipvs': return ipvsText(input);
    case 'ebpf': return ebpfText(input);
    case 'userspace': return userspaceText(input);
  }
}
