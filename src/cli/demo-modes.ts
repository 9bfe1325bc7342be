// The proxy modes the demo runs, one after the other in the same test bed: the agent flags each
// needs there, whether this machine can run it, an excerpt of what it programmed for one
// service (read back from the kernel, or from the agent's listeners), and its cleanup.
import { existsSync } from 'node:fs';
import { runCommand } from '../kernel/exec.js';
import { probeIpvs } from '../backends/ipvs/probe.js';
import { cliEntry } from '../testbed/agent-process.js';
import type { Testbed } from '../testbed/testbed.js';
import { DemoError } from './demo-plan.js';
import { rulesExcerpt } from './demo-report.js';

/** In the order the demo runs them: the kube-proxy modes first, then svcplane's eBPF, then the agent-as-proxy. */
export const DEMO_MODES = ['iptables', 'nftables', 'ipvs', 'ebpf', 'userspace'] as const;
export type DemoMode = (typeof DEMO_MODES)[number];

/** `all` (every mode) or one mode. */
export function parseDemoModes(value: string): DemoMode[] {
  if (value === 'all') return [...DEMO_MODES];
  if ((DEMO_MODES as readonly string[]).includes(value)) return [value as DemoMode];
  throw new DemoError(`--mode: expected all or one of ${DEMO_MODES.join(', ')}, got ${JSON.stringify(value)}`);
}

/** The demo's own pin root: never /sys/fs/bpf/svcplane, which a node running svcplane serves from. */
export function demoPinRoot(testbed: string): string {
  return `/sys/fs/bpf/svcp-${testbed}`;
}

/**
 * Why this machine cannot run `mode` in the test bed, or undefined when it can. Only IPVS is
 * probed up front (inside the node namespace: a throwaway virtual service); the other modes'
 * probes are the agent's own, and a fallback shows in its first sync.
 */
export function unavailableReason(mode: DemoMode, tb: Testbed): string | undefined {
  if (mode !== 'ipvs') return undefined;
  const probe = probeIpvs(`/run/netns/${tb.nodeNs}`);
  return probe.ok ? undefined : probe.reason;
}

/**
 * Flags a mode needs in the test bed (eBPF: the test bed's cgroup and interface). Every mode gets
 * the demo's pin root: the agent after an eBPF one finds its pins there, and removes them.
 */
export function modeArgs(mode: DemoMode, tb: Testbed): string[] {
  const pinRoot = ['--ebpf-pin-root', demoPinRoot(tb.name)];
  if (mode !== 'ebpf') return pinRoot;
  if (tb.cgroupPath === undefined) throw new DemoError('the eBPF mode needs the test bed built with its own cgroup');
  return ['--ebpf-cgroup-path', tb.cgroupPath, '--ebpf-interfaces', tb.externalInterface, ...pinRoot];
}

/**
 * What of `previous` mode's dataplane is still in the node namespace ('' when nothing): checked
 * after the next mode's agent started, which removes other modes' leftovers at start-up (as on
 * a node switching modes), so that no mode's checks pass through another mode's rules.
 */
export async function leftoversOf(previous: DemoMode, tb: Testbed): Promise<string> {
  const out = async (file: string, args: string[]): Promise<string> => (await tb.exec('node', file, args)).stdout;
  switch (previous) {
    case 'iptables':
      return /^:KUBE-(SVC|SEP)-/m.test(await out('iptables-save', ['-t', 'nat'])) ? 'KUBE-SVC/KUBE-SEP chains' : '';
    case 'nftables':
      return /^table ip svcplane$/m.test(await out('nft', ['list', 'tables'])) ? 'ip svcplane table' : '';
    case 'ipvs':
      return /^(TCP|UDP|SCTP) /m.test(await out('ipvsadm', ['-Ln'])) ? 'IPVS virtual servers' : '';
    case 'ebpf':
      return existsSync(demoPinRoot(tb.name)) ? `pins under ${demoPinRoot(tb.name)}` : '';
    case 'userspace':
      return /^:KUBE-(PORTALS|NODEPORT)-/m.test(await out('iptables-save', ['-t', 'nat'])) ? 'KUBE-PORTALS/KUBE-NODEPORT chains' : '';
  }
}

export interface Excerpt {
  readonly title: string;
  readonly lines: readonly string[];
}

/** What the mode programmed for `service` (namespace/name) at `clusterIP`, as its own tool shows it. */
export async function programmedExcerpt(mode: DemoMode, tb: Testbed, service: string, clusterIP: string): Promise<Excerpt> {
  const mentions = (text: string): string[] => text.split('\n').filter((l) => l.includes(clusterIP) || l.includes(`"${service}`)).map((l) => l.trim());
  switch (mode) {
    case 'iptables': {
      const { stdout } = await tb.exec('node', 'iptables-save', ['-t', 'nat']);
      return { title: `iptables-save -t nat in ${tb.nodeNs}, excerpt`, lines: rulesExcerpt(stdout, service, 16) };
    }
    case 'nftables': {
      const { stdout } = await tb.exec('node', 'nft', ['list', 'table', 'ip', 'svcplane']);
      return { title: `nft list table ip svcplane in ${tb.nodeNs}, the lines naming ${clusterIP}`, lines: mentions(stdout) };
    }
    case 'ipvs': {
      const { stdout } = await tb.exec('node', 'ipvsadm', ['-Ln']);
      const lines = stdout.split('\n');
      const at = lines.findIndex((l) => l.includes(`${clusterIP}:`));
      const server: string[] = [];
      // The virtual server's line, then its real servers (lines starting with ->).
      for (const l of at < 0 ? [] : lines.slice(at)) {
        if (server.length > 0 && !l.trim().startsWith('->')) break;
        server.push(l.trim());
      }
      return { title: `ipvsadm -Ln in ${tb.nodeNs}, the virtual server ${clusterIP}`, lines: server };
    }
    case 'ebpf': {
      const r = await runCommand(process.execPath, [cliEntry(), 'maps', '--pin-root', demoPinRoot(tb.name)]);
      return { title: `svcplane maps --pin-root ${demoPinRoot(tb.name)}, the frontends of ${clusterIP}`, lines: r.stdout.split('\n').filter((l) => l.includes(`${clusterIP}:`)) };
    }
    case 'userspace': {
      const { stdout } = await tb.exec('node', 'iptables-save', ['-t', 'nat']);
      return { title: `iptables-save -t nat in ${tb.nodeNs}: the redirects to the agent's listener`, lines: mentions(stdout).filter((l) => l.startsWith('-A KUBE-PORTALS') || l.startsWith('-A KUBE-NODEPORT')) };
    }
  }
}
