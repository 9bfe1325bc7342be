// What `svcplane trace` prints, the same for every mode: the packet, the service port its
// destination belongs to (from the policy step), each outcome with its share, whether the
// source is masqueraded and the path, why a packet is refused or dropped, and (with
// --live) where the kernel's state and the plan disagree.
import { addressIn } from '../backends/common/address.js';
import type { ReportOutcome, TraceQuery } from '../backends/common/trace.js';
import type { IPFamily } from '../model/types.js';
import { nodeFamilyEnv, servicePortPolicy, type Frontend, type ServicePortPolicy } from '../state/service-policy.js';
import type { PlanInput } from './plan-modes.js';

export interface TraceReport {
  readonly mode: string;
  /** What was traced: the plan for the manifests, or the kernel's state now. */
  readonly traced: 'plan' | 'live';
  readonly packet: TraceQuery;
  /** The service port and frontend the destination is, if any (from the manifests). */
  readonly service?: { readonly servicePort: string; readonly frontend: string };
  readonly outcomes: readonly ReportOutcome[];
  /** Why the packet is refused or dropped, when it may be. */
  readonly reason?: string;
  /** --live: where live state and plan disagree (empty: they agree). */
  readonly disagreements?: readonly string[];
}

function matchFrontend(p: PlanInput, family: IPFamily, q: TraceQuery): { policy: ServicePortPolicy; frontend: Frontend } | undefined {
  const env = nodeFamilyEnv(family, p.ctx);
  for (const sp of p.state[family].values()) {
    const policy = servicePortPolicy(sp, env);
    const frontend = policy.frontends.find((f) => f.address === q.dst && f.port === q.dport && f.protocol === q.protocol);
    if (frontend !== undefined) return { policy, frontend };
  }
  return undefined;
}

/** The service port of the destination, and why its packets would be refused or dropped. */
export function explain(p: PlanInput, family: IPFamily, q: TraceQuery, outcomes: readonly ReportOutcome[]): Pick<TraceReport, 'service' | 'reason'> {
  const hit = matchFrontend(p, family, q);
  if (hit === undefined) return outcomes.some((o) => o.verdict === 'DROP' || o.verdict === 'REJECT') ? { reason: 'the destination is no service frontend of the manifests' } : {};
  const { policy, frontend } = hit;
  const service = { servicePort: policy.key, frontend: `${frontend.kind} ${frontend.key}` };
  if (!outcomes.some((o) => o.verdict === 'DROP' || o.verdict === 'REJECT')) return { service };
  const traffic = frontend.kind === 'cluster-ip' ? policy.internal : policy.external;
  const which = frontend.kind === 'cluster-ip' ? 'internalTrafficPolicy' : 'externalTrafficPolicy';
  if (frontend.kind === 'load-balancer' && policy.firewall.filtered && q.from !== 'node' && !addressIn(policy.firewall.allowed, q.src)) {
    return { service, reason: `firewall: ${q.src} is not in loadBalancerSourceRanges (${policy.firewall.ranges.join(', ')})` };
  }
  if (!traffic.served) {
    if (traffic.localOnly && traffic.none === 'drop') return { service, reason: `traffic policy: ${which} Local and no ready endpoint on this node` };
    return { service, reason: 'no endpoints: the service has no ready endpoint' };
  }
  return { service, reason: 'the manifests give this frontend endpoints; the rules traced do not (see the path)' };
}

function percent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

export function renderReport(r: TraceReport): string {
  const q = r.packet;
  const lines = [`${q.protocol} ${q.src} -> ${q.dst}:${q.dport} from ${q.from} (${r.mode}, ${r.traced === 'plan' ? 'the plan for the manifests' : 'live kernel state'})`];
  if (r.service !== undefined) lines.push(`service: ${r.service.servicePort} (${r.service.frontend})`);
  for (const o of r.outcomes) {
    const what = o.verdict === 'DNAT' ? `-> ${o.destination}` : o.verdict === 'ACCEPT' ? 'ACCEPT (not translated)' : o.verdict;
    lines.push(`  ${percent(o.probability).padStart(6)}  ${what}${o.verdict === 'DNAT' || o.verdict === 'ACCEPT' ? `  masquerade: ${o.masqueraded ? 'yes' : 'no'}` : ''}`);
    lines.push(`          path: ${o.path.length === 0 ? '(none)' : o.path.join(' > ')}`);
  }
  if (r.reason !== undefined) lines.push(`why: ${r.reason}`);
  if (r.disagreements !== undefined) {
    if (r.disagreements.length === 0) lines.push('live state and plan agree');
    else lines.push('live state and plan disagree:', ...r.disagreements.map((d) => `  ${d}`));
  }
  return `${lines.join('\n')}\n`;
}
