// What each proxy mode leaves in a network namespace, read back with the operator's tools
// (iptables-save, nft, bpftool, tc, ip, ipvsadm, ipset), for the mode-switch and cleanup tests
// on the host (test/integration/mode-pairs.test.ts) and in the VM (test/vm/mode-pairs.vm-test.ts).
import { existsSync, readdirSync } from 'node:fs';
import { runChecked, runCommand } from '../../src/kernel/exec.js';

export type TracedMode = 'iptables' | 'nftables' | 'ebpf' | 'ipvs';

export interface TraceScope {
  /** The network namespace (`ip netns` name) the agent ran in. */
  readonly netns: string;
  /** The eBPF mode's pin root, cgroup and tc interface in that namespace. */
  readonly pinRoot: string;
  readonly cgroupPath: string;
  readonly ebpfInterface: string;
  /** Read IPVS and its ipsets too (only where the kernel has IPVS: in the VM). */
  readonly ipvs: boolean;
}

/** Chains only the iptables mode makes; IPVS mode's companion rules use KUBE-SERVICES, KUBE-POSTROUTING, KUBE-MARK-MASQ too. */
const IPTABLES_MODE_ONLY = /KUBE-(SVC|SEP|SVL|EXT|FW)-|KUBE-(NODEPORTS|EXTERNAL-SERVICES|FORWARD|PROXY-FIREWALL|FIREWALL|MARK-DROP|KUBELET-CANARY)\b/;

/** IPVS mode's jump that the iptables mode never makes: whichever mode runs, it is IPVS mode's. */
const IPVS_MODE_ONLY = /^ip6?tables-save filter -A INPUT .*-j KUBE-SERVICES$/;

async function out(netns: string, file: string, args: readonly string[]): Promise<string> {
  return (await runChecked(file, args, { netns })).stdout;
}

/** svcplane's chains and rules in the default iptables variant, IPv4 and IPv6, nat and filter. */
async function iptablesLines(netns: string): Promise<string[]> {
  const lines: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save']) {
    for (const table of ['nat', 'filter']) {
      for (const line of (await out(netns, save, ['-t', table])).split('\n')) {
        if (line.includes('KUBE-')) lines.push(`${save} ${table} ${line.replace(/\[\d+:\d+\]/, '')}`);
      }
    }
  }
  return lines;
}

/**
 * Everything svcplane's modes hold in the namespace, by mode. The iptables mode and IPVS mode
 * share the chain names of their companion rules: a KUBE- chain counts for IPVS only when it is
 * one of those and kube-ipvs0 exists, for iptables otherwise.
 */
export async function modeTraces(scope: TraceScope): Promise<Record<TracedMode, string[]>> {
  const { netns } = scope;
  const ipvsLink = scope.ipvs && (await runCommand('ip', ['link', 'show', 'kube-ipvs0'], { netns })).code === 0;
  const traces: Record<TracedMode, string[]> = { iptables: [], nftables: [], ebpf: [], ipvs: [] };
  for (const line of await iptablesLines(netns)) {
    if ((ipvsLink && !IPTABLES_MODE_ONLY.test(line)) || IPVS_MODE_ONLY.test(line)) traces.ipvs.push(line);
    else traces.iptables.push(line);
  }
  for (const line of (await out(netns, 'nft', ['list', 'tables'])).split('\n')) {
    if (/^table ip6? svcplane$/.test(line)) traces.nftables.push(line);
    if (/^table ip6? svcplane-ebpf$/.test(line)) traces.ebpf.push(line);
  }
  if (existsSync(scope.pinRoot)) traces.ebpf.push(`pin root ${scope.pinRoot}: ${readdirSync(scope.pinRoot).join(' ')}`);
  const cgroup = JSON.parse((await runChecked('bpftool', ['-j', 'cgroup', 'show', scope.cgroupPath])).stdout.trim() || '[]') as { name?: string; attach_type?: string }[];
  for (const p of cgroup) traces.ebpf.push(`cgroup ${p.attach_type ?? '?'} ${p.name ?? '?'}`);
  for (const hook of ['ingress', 'egress']) {
    const filters = await runCommand('tc', ['filter', 'show', 'dev', scope.ebpfInterface, hook], { netns });
    if (filters.code === 0 && filters.stdout.trim() !== '') traces.ebpf.push(`tc ${hook}: ${filters.stdout.trim()}`);
  }
  const qdiscs = await out(netns, 'tc', ['qdisc', 'show', 'dev', scope.ebpfInterface]);
  if (/qdisc clsact/.test(qdiscs)) traces.ebpf.push(`qdisc clsact on ${scope.ebpfInterface}`);
  if (scope.ipvs) {
    if (ipvsLink) traces.ipvs.push('link kube-ipvs0');
    for (const line of (await out(netns, 'ipvsadm', ['-Ln'])).split('\n')) if (/^(TCP|UDP|SCTP) /.test(line)) traces.ipvs.push(`ipvs ${line.trim()}`);
    // The sets IPVS mode's companion rules match: a switch must destroy them with the rules.
    for (const name of (await out(netns, 'ipset', ['list', '-n'])).split('\n')) if (name.startsWith('KUBE-')) traces.ipvs.push(`ipset ${name}`);
  }
  return traces;
}
