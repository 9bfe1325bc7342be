// The userspace mode's redirect rules, rendered as one iptables-restore batch per family
// in kube-proxy's chain names: KUBE-PORTALS-CONTAINER / KUBE-NODEPORT-CONTAINER (from
// PREROUTING: pods and other hosts) and KUBE-PORTALS-HOST / KUBE-NODEPORT-HOST (from
// OUTPUT: the node itself). Each frontend is DNATed to its listener; load-balancer
// frontends with source ranges only for allowed sources, the rest dropped in
// KUBE-PORTALS-FILTER (filter), where the unredirected packets still carry the LB IP.
// A frontend without backends is not redirected but rejected there (or dropped when only
// remote endpoints exist), so that a client is refused before any handshake, as in the
// kernel modes (a listener could only reset an accepted connection).
import type { IPFamily } from '../../model/types.js';
import type { ListenerWant } from './planner.js';

export type Table = 'nat' | 'filter';

export const OWNED_CHAINS: Readonly<Record<Table, readonly string[]>> = {
  nat: ['KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST', 'KUBE-NODEPORT-CONTAINER', 'KUBE-NODEPORT-HOST'],
  filter: ['KUBE-PORTALS-FILTER'],
};

/** A chain of this mode's (mode switches leave none). */
export function isUserspaceChain(name: string): boolean {
  return OWNED_CHAINS.nat.includes(name) || OWNED_CHAINS.filter.includes(name);
}

export interface JumpRule {
  readonly table: Table;
  readonly chain: string;
  readonly args: readonly string[];
}

const COMMENT = 'svcplane userspace';

/** The jumps from the built-in chains into ours (the same for every state). */
export const JUMPS: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: ['-m', 'comment', '--comment', `${COMMENT} portals`, '-j', 'KUBE-PORTALS-CONTAINER'] },
  { table: 'nat', chain: 'PREROUTING', args: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-m', 'comment', '--comment', `${COMMENT} nodeports`, '-j', 'KUBE-NODEPORT-CONTAINER'] },
  { table: 'nat', chain: 'OUTPUT', args: ['-m', 'comment', '--comment', `${COMMENT} portals`, '-j', 'KUBE-PORTALS-HOST'] },
  { table: 'nat', chain: 'OUTPUT', args: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-m', 'comment', '--comment', `${COMMENT} nodeports`, '-j', 'KUBE-NODEPORT-HOST'] },
  { table: 'filter', chain: 'INPUT', args: ['-m', 'comment', '--comment', `${COMMENT} filter`, '-j', 'KUBE-PORTALS-FILTER'] },
  { table: 'filter', chain: 'FORWARD', args: ['-m', 'comment', '--comment', `${COMMENT} filter`, '-j', 'KUBE-PORTALS-FILTER'] },
  { table: 'filter', chain: 'OUTPUT', args: ['-m', 'comment', '--comment', `${COMMENT} filter`, '-j', 'KUBE-PORTALS-FILTER'] },
];

export interface RenderedRules {
  readonly restore: string;
  readonly natRules: number;
  readonly filterRules: number;
}

/** Comment text from a service-port key: printable ASCII without quotes or backslashes. */
export function safeComment(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, '_').slice(0, 200);
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Rules for the listeners of one family that are open (`ports`: listener id -> bound port).
 * Declaring our chains flushes them, so the batch replaces every rule of ours at once.
 */
export function renderRules(family: IPFamily, wants: readonly ListenerWant[], ports: ReadonlyMap<string, number>): RenderedRules {
  const mask = family === 'IPv6' ? '/128' : '/32';
  const nat: string[] = [];
  const filter: string[] = [];
  for (const w of wants) {
    const port = ports.get(w.id);
    if (w.family !== family || port === undefined) continue;
    const to = hostPort(w.host, port);
    const proto = w.protocol.toLowerCase();
    const comment = `-m comment --comment "${safeComment(w.servicePort)}"`;
    for (const f of w.frontends) {
      const match = `-d ${f.address}${mask} -p ${proto} -m ${proto} --dport ${f.port}`;
      if (w.backends.length === 0) {
        filter.push(`-A KUBE-PORTALS-FILTER ${match} ${comment} ${w.none === 'drop' ? '-j DROP' : `-j REJECT --reject-with ${family === 'IPv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'}`}`);
        continue;
      }
      const target = `-j DNAT --to-destination ${to}`;
      const [container, host] = f.kind === 'node-port' ? ['KUBE-NODEPORT-CONTAINER', 'KUBE-NODEPORT-HOST'] : ['KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST'];
      const sources = f.kind === 'load-balancer' && w.allowedSources !== undefined ? w.allowedSources : [undefined];
      for (const src of sources) {
        const from = src === undefined ? '' : ` -s ${src}`;
        nat.push(`-A ${container}${from} ${match} ${comment} ${target}`, `-A ${host}${from} ${match} ${comment} ${target}`);
      }
      if (f.kind === 'load-balancer' && w.allowedSources !== undefined) filter.push(`-A KUBE-PORTALS-FILTER ${match} ${comment} -j DROP`);
    }
  }
  const lines = [
    '*filter', ...OWNED_CHAINS.filter.map((c) => `:${c} - [0:0]`), ...filter, 'COMMIT',
    '*nat', ...OWNED_CHAINS.nat.map((c) => `:${c} - [0:0]`), ...nat, 'COMMIT',
  ];
  return { restore: lines.join('\n') + '\n', natRules: nat.length, filterRules: filter.length };
}

/** A batch that flushes and deletes the chains of ours that exist. */
export function renderCleanup(existing: Readonly<Record<Table, ReadonlySet<string>>>): string | undefined {
  const blocks: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const ours = OWNED_CHAINS[table].filter((c) => existing[table].has(c));
    if (ours.length > 0) blocks.push(`*${table}`, ...ours.map((c) => `:${c} - [0:0]`), ...ours.map((c) => `-X ${c}`), 'COMMIT');
  }
  return blocks.length === 0 ? undefined : blocks.join('\n') + '\n';
}
