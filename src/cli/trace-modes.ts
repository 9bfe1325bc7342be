// One packet through one mode, over its plan or over what the kernel holds: each mode's
// own tracer (iptables, nftables, eBPF maps), or a tracer of the rules a mode keeps in
// iptables followed by the mode's own (IPVS virtual servers, userspace listeners). The
// rules are read as the mode's applier reads them back (live-state.ts).
import { tracePacket as traceEbpf } from '../backends/ebpf/tracer.js';
import { planEbpf } from '../backends/ebpf/planner.js';
import { emptyMapsContent } from '../backends/ebpf/maps-content.js';
import { planFull as planIptables } from '../backends/iptables/planner.js';
import { parseSaved } from '../backends/iptables/tracer-live.js';
import { parseRuleset, type Ruleset } from '../backends/iptables/tracer-parse.js';
import { tracePacket as traceIptables } from '../backends/iptables/tracer.js';
import { IPVS_IPTABLES_JUMPS, renderIpvsIptables } from '../backends/ipvs/ipvs-iptables.js';
import { traceVirtualServers, type TracedVirtualServer } from '../backends/ipvs/tracer.js';
import { ipvsIpsetContents } from '../backends/ipvs/ipvs-ipsets.js';
import { desiredVirtualServers } from '../backends/ipvs/virtual-servers.js';
import { parseNftList } from '../backends/nftables/list-parse.js';
import { memoObjects, planFull as planNftables } from '../backends/nftables/planner.js';
import { TABLE_NAME } from '../backends/nftables/objects.js';
import { tracePacket as traceNftables } from '../backends/nftables/tracer.js';
import { traceListeners } from '../backends/userspace/tracer.js';
import { JUMPS as USERSPACE_JUMPS, renderRules } from '../backends/userspace/redirect-rules.js';
import type { ListenerWant } from '../backends/userspace/planner.js';
import { queryPacket, type TraceEnv, type TraceOutcome, type TraceQuery, type TraceResult } from '../backends/common/trace.js';
import { ipFamily } from '../backends/common/address.js';
import type { IPFamily } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';
import { ebpfMaps, iptablesSave, ipvsDump, ipvsIpsets, localAddresses, LOOPBACK, nftTable, type LiveOptions } from './live-state.js';
import { userspaceWants, type PlannedMode, type PlanInput } from './plan-modes.js';

export class TraceInputError extends SvcplaneError {
  override readonly code = 'SVCPLANE_TRACE_INPUT';
}

/** The packet's family; the plan is traced in that family. */
export function queryFamily(q: TraceQuery): IPFamily {
  const f = ipFamily(q.dst);
  if (f === undefined || ipFamily(q.src) !== f) throw new TraceInputError(`--src ${q.src} and --dst ${q.dst} must be addresses of one family`);
  return f;
}

function planEnv(p: PlanInput, extra: Iterable<string> = []): TraceEnv {
  return { localAddresses: [...p.ctx.nodeIPs, ...LOOPBACK, ...extra] };
}

/** The userspace redirect ruleset for `wants` bound on `ports`. */
function userspaceRuleset(family: IPFamily, wants: readonly ListenerWant[], ports: ReadonlyMap<string, number>): Ruleset {
  return parseRuleset({ restore: renderRules(family, wants, ports).restore, jumps: USERSPACE_JUMPS });
}

/**
 * Kernel-chosen listener ports are unknown to a plan: the trace stands in ports from the
 * top of the range, one per listener, and names them kernel-chosen in the path.
 */
function plannedPorts(wants: readonly ListenerWant[]): Map<string, number> {
  return new Map(wants.map((w, i) => [w.id, w.port === 0 ? 65535 - i : w.port]));
}

function userspaceTrace(family: IPFamily, q: TraceQuery, wants: readonly ListenerWant[], ports: ReadonlyMap<string, number>, ruleset: Ruleset | undefined, env: TraceEnv, planned = false): TraceResult {
  const packet = queryPacket(q);
  const before: TraceOutcome[] = ruleset === undefined
    ? [{ probability: 1, verdict: 'ACCEPT', masqueraded: false, chains: [], affinityUpdates: [] }]
    : [...traceIptables(ruleset, packet, env).outcomes];
  return { outcomes: traceListeners(wants.filter((w) => w.family === family), ports, before, q.protocol, q.dst, q.dport, planned) };
}

function ipvsTrace(q: TraceQuery, servers: readonly TracedVirtualServer[], companion: Ruleset, env: TraceEnv, masqueradeBit: number): TraceResult {
  const before = traceIptables(companion, queryPacket(q), env).outcomes;
  return { outcomes: before.flatMap((o) => traceVirtualServers(servers, o, q.protocol, q.dst, q.dport, 1 << masqueradeBit)) };
}

/** The trace of the plan for the manifests. */
export function tracePlan(mode: PlannedMode, p: PlanInput, q: TraceQuery): TraceResult {
  const family = queryFamily(q);
  const packet = queryPacket(q);
  switch (mode) {
    case 'iptables': {
      const plan = planIptables(p.state[family], { family, ctx: p.ctx });
      return traceIptables(parseRuleset({ restore: plan.restore, jumps: plan.jumps }), packet, planEnv(p));
    }
    case 'nftables':
      return traceNftables(memoObjects(planNftables(p.state[family], { family, ctx: p.ctx })), packet, planEnv(p));
    case 'ipvs': {
      const desired = desiredVirtualServers(p.state, p.ctx, { scheduler: p.ipvsScheduler });
      const companion = parseRuleset({ restore: renderIpvsIptables(family, p.ctx), jumps: IPVS_IPTABLES_JUMPS });
      const ipsets = new Map(ipvsIpsetContents(family, desired.virtualServers.values(), p.state, p.ctx).map(({ set, entries }) => [set.name, entries] as const));
      return ipvsTrace(q, [...desired.virtualServers.values()], companion, { ...planEnv(p, desired.boundAddresses), ipsets }, p.ctx.masqueradeBit);
    }
    case 'ebpf':
      return traceEbpf(planEbpf(p.state, p.ctx, emptyMapsContent(), { algorithm: p.ebpfAlgorithm }).content, packet);
    case 'userspace': {
      const wants = userspaceWants(p);
      const ports = plannedPorts(wants);
      const ruleset = p.userspace.noRedirect !== undefined ? undefined : userspaceRuleset(family, wants, ports);
      return userspaceTrace(family, q, wants, ports, ruleset, planEnv(p), true);
    }
  }
}

/**
 * Listener ports as the live redirect rules name them: each frontend's DNAT target, mapped
 * to the listener that owns the frontend.
 */
export function liveListenerPorts(save: string, wants: readonly ListenerWant[]): Map<string, number> {
  const byFrontend = new Map<string, number>();
  for (const m of save.matchAll(/^-A KUBE-(?:PORTALS|NODEPORT)-\S+ .*?-d (\S+?)\/\d+ -p (\w+) .*?--dport (\d+) .*-j DNAT --to-destination \S+:(\d+)$/gm)) {
    byFrontend.set(`${m[1]}:${m[3]}/${(m[2] ?? '').toUpperCase()}`, Number(m[4]));
  }
  const ports = new Map<string, number>();
  for (const w of wants) {
    for (const f of w.frontends) {
      const port = byFrontend.get(`${f.address}:${f.port}/${f.protocol}`);
      if (port !== undefined) ports.set(w.id, port);
    }
  }
  return ports;
}

/** The trace of what the kernel of this network namespace holds now. */
export async function traceLive(mode: PlannedMode, p: PlanInput, q: TraceQuery, opts: LiveOptions): Promise<TraceResult> {
  const family = queryFamily(q);
  const packet = queryPacket(q);
  const env: TraceEnv = { localAddresses: localAddresses() };
  switch (mode) {
    case 'iptables':
      return traceIptables(parseSaved(await iptablesSave(family, opts)), packet, env);
    case 'nftables': {
      const text = await nftTable(family, TABLE_NAME);
      if (text === undefined) throw new TraceInputError(`no nftables table ${family === 'IPv6' ? 'ip6' : 'ip'} ${TABLE_NAME} here: the nftables mode is not programmed in this network namespace`);
      return traceNftables(parseNftList(text), packet, env);
    }
    case 'ipvs': {
      const servers = ipvsDump();
      return ipvsTrace(q, servers, parseSaved(await iptablesSave(family, opts)), { ...env, ipsets: await ipvsIpsets(family) }, p.ctx.masqueradeBit);
    }
    case 'ebpf':
      return traceEbpf(ebpfMaps(opts), packet);
    case 'userspace': {
      // Listeners live in the agent's process: their backends are the plan's; the redirects are the kernel's.
      const wants = userspaceWants(p);
      if (p.userspace.noRedirect !== undefined) return userspaceTrace(family, q, wants, new Map(), undefined, env);
      const save = await iptablesSave(family, opts);
      return userspaceTrace(family, q, wants, liveListenerPorts(save, wants), parseSaved(save), env);
    }
  }
}
