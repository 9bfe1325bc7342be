// `svcplane plan --mode M` prints what mode M programs, in the form its own tool reads:
// the real tool accepts it in a scratch namespace, and what it loads equals what the
// real agent programs from the same manifests in a second namespace.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked, runCommand } from '../../src/kernel/exec.js';
import { cliEntry } from '../../src/testbed/agent-process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const NODE_FLAGS = ['--manifests', EXAMPLES, '--node-name', 'node-a', '--node-ip', '192.168.77.1', '--cluster-cidr', '10.244.0.0/16'];
const suffix = randomBytes(3).toString('hex');
const PLANNED = `svcp-plan-a-${suffix}`;
const AGENT = `svcp-plan-b-${suffix}`;

async function plan(mode: string): Promise<string> {
  const r = await runChecked(process.execPath, [cliEntry(), 'plan', '--mode', mode, ...NODE_FLAGS]);
  return r.stdout;
}

/** Runs the real agent in `ns` until `ready` holds (polled), then kills it: the dataplane stays. */
async function programWithAgent(ns: string, mode: string, ready: () => Promise<boolean>): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, cliEntry(), 'run', '--mode', mode, ...NODE_FLAGS,
    '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--iptables-backend', 'nft'], { stdio: 'ignore' });
  try {
    // Generous: a loaded machine may take long to start node (a poll, no timing asserted).
    const deadline = Date.now() + 60_000;
    while (!(await ready())) {
      if (Date.now() > deadline) throw new Error(`the agent did not program ${mode} in ${ns} within 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

/** The KUBE-* chain declarations and rules of one table, sorted (counters and base-chain jumps aside). */
async function kubeRules(ns: string, table: string): Promise<string[]> {
  const r = await runChecked('iptables-nft-save', ['-t', table], { netns: ns });
  return r.stdout.split('\n').filter((l) => /^(:KUBE-\S+|-A KUBE-)/.test(l)).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).sort();
}

describe('svcplane plan in every mode', () => {
  beforeAll(async () => {
    for (const ns of [PLANNED, AGENT]) {
      await runChecked('ip', ['netns', 'add', ns]);
      await runChecked('ip', ['link', 'set', 'lo', 'up'], { netns: ns });
    }
  });
  afterAll(async () => {
    for (const ns of [PLANNED, AGENT]) await runCommand('ip', ['netns', 'del', ns]);
  });

  it('iptables: iptables-restore loads the plan, and it is what the agent programs', async () => {
    const text = await plan('iptables');
    expect(text).toMatch(/^-A KUBE-SVC-/m);
    await runChecked('iptables-nft-restore', ['--noflush'], { netns: PLANNED, input: text });
    await programWithAgent(AGENT, 'iptables', async () => (await kubeRules(AGENT, 'nat')).some((l) => l.startsWith('-A KUBE-SVC-')));
    for (const table of ['nat', 'filter']) expect(await kubeRules(AGENT, table)).toEqual(await kubeRules(PLANNED, table));
  });

  it('nftables: nft -c accepts the plan, and nft -f of it lists as the agent\'s table does', async () => {
    const text = await plan('nftables');
    expect(text).toMatch(/^add table ip svcplane/m);
    await runChecked('nft', ['-c', '-f', '-'], { netns: PLANNED, input: text });
    await runChecked('nft', ['-f', '-'], { netns: PLANNED, input: text });
    const list = async (ns: string): Promise<string> => (await runCommand('nft', ['list', 'table', 'ip', 'svcplane'], { netns: ns })).stdout;
    await programWithAgent(AGENT, 'nftables', async () => (await list(AGENT)).includes('service-ips'));
    expect(await list(AGENT)).toEqual(await list(PLANNED));
  });

  it('ipvs and ebpf: one virtual server or frontend line per frontend, the same frontends in both', async () => {
    const ipvs = await plan('ipvs');
    const ebpf = await plan('ebpf');
    const servers = ipvs.split('\n').filter((l) => /^-A (-t|-u|--sctp-service) /.test(l)).map((l) => l.split(' ')[2]).sort();
    const frontends = ebpf.split('\n').filter((l) => /^(TCP|UDP|SCTP) /.test(l) && !l.includes('(internal)')).map((l) => l.split(' ')[1]).sort();
    expect(servers.length).toBeGreaterThan(5);
    expect(frontends).toEqual(servers);
    expect(ipvs).toMatch(/^-a -t 10\.96\.0\.100:80 -r 10\.244\.1\.11:9376 -m -w 1$/m);
  });

  it('userspace: iptables-restore --test accepts the redirects, which are the agent\'s but for the kernel-chosen listener ports', async () => {
    const text = await plan('userspace');
    expect(text).toMatch(/^# listen TCP 192\.168\.77\.1:\(kernel-chosen\) default\/my-service: \(internal\) for cluster-ip 10\.96\.0\.100:80 -> 10\.244\.1\.11:9376, /m);
    await runChecked('iptables-nft-restore', ['--test', '--noflush'], { netns: PLANNED, input: text });
    const agentNs = `${AGENT}-u`;
    await runChecked('ip', ['netns', 'add', agentNs]);
    try {
      await runChecked('ip', ['link', 'set', 'lo', 'up'], { netns: agentNs });
      // The listeners bind the node IP, so the namespace must hold it.
      await runChecked('ip', ['addr', 'add', '192.168.77.1/32', 'dev', 'lo'], { netns: agentNs });
      const portals = async (): Promise<string[]> => (await kubeRules(agentNs, 'nat')).filter((l) => l.startsWith('-A KUBE-PORTALS-CONTAINER'));
      await programWithAgent(agentNs, 'userspace', async () => (await portals()).length > 0);
      // The plan leaves the port out where the kernel chooses it; the agent writes the port it bound.
      const planned = text.split('\n').filter((l) => l.startsWith('-A KUBE-PORTALS-CONTAINER')).map((l) => `-d ${/-d (\S+)/.exec(l)?.[1]} --dport ${/--dport (\d+)/.exec(l)?.[1]} -> ${/--to-destination (\S+)/.exec(l)?.[1]}`).sort();
      const live = (await portals()).map((l) => `-d ${/-d (\S+)/.exec(l)?.[1]} --dport ${/--dport (\d+)/.exec(l)?.[1]} -> ${/--to-destination (\S+?):\d+$/.exec(l)?.[1]}`).sort();
      expect(live).toEqual(planned);
    } finally {
      await runCommand('ip', ['netns', 'del', agentNs]);
    }
    const listenersOnly = (await runChecked(process.execPath, [cliEntry(), 'plan', '--mode', 'userspace', '--userspace-no-redirect', ...NODE_FLAGS])).stdout;
    expect(listenersOnly).toMatch(/^# listen TCP 127\.0\.0\.1:\(kernel-chosen\) default\/my-service: /m);
    expect(listenersOnly).not.toMatch(/^[-*:]/m);
  });

  it('trace of the ipvs plan: the companion rules, then the virtual server and its real servers', async () => {
    const r = await runChecked(process.execPath, [cliEntry(), 'trace', '--mode', 'ipvs', '--from', 'outside', '--src', '203.0.113.9', '--dst', '192.168.77.1:30080/TCP', '--output', 'json', ...NODE_FLAGS]);
    const report = JSON.parse(r.stdout) as { outcomes: { verdict: string; destination?: string; probability: number; masqueraded: boolean; path: string[] }[] };
    expect(report.outcomes.map((o) => [o.verdict, o.destination, o.probability, o.masqueraded])).toEqual([['DNAT', '10.244.1.31:9376', 0.5, true], ['DNAT', '10.244.2.31:9376', 0.5, true]]);
    expect(report.outcomes[0]?.path).toEqual(['nat:PREROUTING', 'nat:KUBE-SERVICES', 'nat:KUBE-NODE-PORT', 'nat:KUBE-MARK-MASQ', 'filter:INPUT', 'filter:KUBE-SERVICES', 'ipvs:TCP 192.168.77.1:30080 rr']);
  });

  it('refuses a mode it cannot plan, naming the modes it can', async () => {
    const r = await runCommand(process.execPath, [cliEntry(), 'plan', '--mode', 'auto', ...NODE_FLAGS]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('iptables, nftables, ipvs, ebpf');
  });
});
