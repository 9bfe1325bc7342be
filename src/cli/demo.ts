// `svcplane demo`: builds a throwaway network-namespace test bed with one pod per
// endpoint of the bundled examples, runs the real agent (iptables mode) in the
// node namespace, sends traffic to a few services, shows who answered and the
// rules that made it happen, then tears everything down. It doubles as a smoke
// test: a failed request or a silent endpoint makes it exit non-zero.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import type { FamilyState } from '../state/types.js';
import { SvcplaneError } from '../util/errors.js';
import { AgentProcess } from '../testbed/agent-process.js';
import { listNetns, NETNS_PREFIX } from '../testbed/netns.js';
import { cleanupStaleTestbeds, CLIENT_IP, createTestbed, NODE_IP, type RequestResult, type Testbed } from '../testbed/testbed.js';
import { demoPods, DemoError, loadDemoState, resolveTarget, type DemoPod, type DemoTarget, type TargetRequest } from './demo-plan.js';
import { DEMO_DNS_PORT, podLookups } from './demo-dns.js';
import { checkTarget, displayService, formatLogRecords, renderCheck, rulesExcerpt, type TargetCheck } from './demo-report.js';

const TESTBED_NAME = 'demo';
const NODE_NAME = 'node-a';
const POD_CIDR = '10.244.0.0/16';
const RULES_SERVICE = 'default/my-service';
const AGENT_STOP_TIMEOUT_MS = 5_000;
const TARGETS: readonly TargetRequest[] = [
  { service: 'default/my-service:', kind: 'ClusterIP', from: 'node', count: 60 },
  { service: 'default/nodeport:', kind: 'NodePort', from: 'client', count: 60 },
  { service: 'default/dns:dns', kind: 'ClusterIP', from: 'node', count: 20 },
];

/** examples/ next to the installed code: dist/cli/ (or src/cli/) -> ../../examples. */
export function examplesDir(): string {
  const dir = fileURLToPath(new URL('../../examples', import.meta.url));
  if (!existsSync(dir)) throw new DemoError(`cannot find the bundled examples at ${dir}`);
  return dir;
}

/** Control flow only: a signal arrived; never leaves runDemo. */
class Interrupted extends SvcplaneError {
  override readonly code = 'SVCPLANE_DEMO_INTERRUPTED';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

type Print = (line?: string) => void;

/** One demo run: its steps, and a teardown that is safe to call at any point, once or more. */
class DemoRun {
  private building: Promise<Testbed> | undefined;
  private agent: AgentProcess | undefined;
  private tornDown: Promise<void> | undefined;
  private aborted = false;
  /** DNS lookups from the pod that got no answer (they fail the demo like a traffic check). */
  readonly dnsProblems: string[] = [];

  constructor(
    private readonly examples: string,
    private readonly print: Print,
  ) {}

  async run(): Promise<TargetCheck[]> {
    const { state, pods } = await this.load();
    const targets = TARGETS.map((t) => resolveTarget(state, pods, t, NODE_IP));
    const local = pods.filter((p) => p.node === 'local').length;

    const started = performance.now();
    this.building = createTestbed({ name: TESTBED_NAME, pods: pods.map((p) => ({ name: p.name, ip: p.ip, node: p.node })) });
    const tb = await this.building;
    this.print(`Test bed   ${pods.length} pods (${local} on ${NODE_NAME}, ${pods.length - local} remote), node ${NODE_IP}, client ${CLIENT_IP}  [${since(started)}]`);

    // The agent's first sync does not need the servers: start both at once.
    this.checkAborted();
    const agent = new AgentProcess(tb, agentArgs(this.examples));
    this.agent = agent;
    const [serversTook, agentTook] = await Promise.all([
      timed(() => Promise.all(pods.map((p) => tb.startIdentityServers(p.name, { tcp: p.tcp, udp: p.udp })))),
      timed(() => agent.start()),
    ]);
    const portCount = pods.reduce((n, p) => n + p.tcp.length + p.udp.length, 0);
    this.print(`Pods       an identity server in each pod, ${portCount} ports listening  [${serversTook}]`);
    this.print(`Agent      svcplane run --mode iptables in ${tb.nodeNs}, first sync done  [${agentTook}]`);

    const checks: TargetCheck[] = [];
    for (const target of targets) {
      this.checkAborted();
      const results = await sendTraffic(tb, target);
      const check = checkTarget(target, results);
      checks.push(check);
      this.print();
      this.print(renderCheck(check));
    }

    this.checkAborted();
    const dnsPod = pods[0]?.name;
    if (dnsPod) await this.showDns(tb.pod(dnsPod).ns, dnsPod);

    this.checkAborted();
    const { stdout } = await tb.exec('node', 'iptables-save', ['-t', 'nat']);
    this.print();
    this.print(`Rules the agent wrote for ${RULES_SERVICE} (iptables-save -t nat in ${tb.nodeNs}, excerpt)`);
    for (const line of rulesExcerpt(stdout, RULES_SERVICE)) this.print(`  ${line}`);
    return checks;
  }

  /** Cluster DNS from the agent, looked up from a pod namespace; a failed lookup fails the demo. */
  private async showDns(podNetns: string, pod: string): Promise<void> {
    const lookups = await podLookups(podNetns, NODE_IP);
    this.print();
    this.print(`DNS        from pod ${pod} (resolv.conf: nameserver ${NODE_IP}, search default.svc.cluster.local ...), served by svcplane run --dns-listen`);
    for (const l of lookups) this.print(`  $ ${l.command}${l.output.length === 0 ? '   (no answer)' : ''}\n${l.output.map((o) => `    ${o}`).join('\n')}`);
    this.dnsProblems.push(...lookups.filter((l) => !l.ok).map((l) => `${l.command}: no answer`));
  }

  /** Stops the agent (SIGTERM, then SIGKILL via the test bed) and deletes every namespace. */
  teardown(): Promise<void> {
    this.aborted = true;
    this.tornDown ??= this.destroy();
    return this.tornDown;
  }

  isStopping(): boolean {
    return this.tornDown !== undefined;
  }

  /** The agent's last log lines, readable, for a failed run. */
  agentTail(lines = 25): string[] {
    return this.agent ? formatLogRecords(this.agent.logs.slice(-lines)) : [];
  }

  private async load(): Promise<{ state: FamilyState; pods: DemoPod[] }> {
    const state = await loadDemoState({ manifests: this.examples, nodeName: NODE_NAME, nodeIP: NODE_IP, clusterCIDR: POD_CIDR });
    const pods = demoPods(state, POD_CIDR, NODE_NAME);
    this.print(`svcplane demo: ${state.size} service ports from ${this.examples}, ${pods.length} endpoint pods`);
    this.print();
    return { state, pods };
  }

  private checkAborted(): void {
    if (this.aborted) throw new DemoError('demo aborted');
  }

  private async destroy(): Promise<void> {
    const started = performance.now();
    const tb = await this.building?.catch(() => undefined);
    let agentNote = 'not started';
    if (this.agent?.pid !== undefined) {
      const stop = this.agent.kill('SIGTERM').then((code) => (code === null ? 'stopped' : `exit ${code}`));
      agentNote = await Promise.race([stop, delay(AGENT_STOP_TIMEOUT_MS).then(() => 'killed after no exit on SIGTERM')]);
    }
    await tb?.destroy();
    // Also whatever a build interrupted half-way left behind.
    await cleanupStaleTestbeds(TESTBED_NAME);
    const left = (await listNetns()).filter((ns) => ns.startsWith(`${NETNS_PREFIX}${TESTBED_NAME}-`));
    if (left.length > 0) throw new DemoError(`teardown left network namespaces behind: ${left.join(', ')}`);
    this.print();
    this.print(`Teardown   agent ${agentNote}, test bed deleted  [${since(started)}]`);
  }
}

function agentArgs(examples: string): string[] {
  return [
    '--mode', 'iptables',
    '--manifests', examples,
    '--node-name', NODE_NAME,
    '--node-ip', NODE_IP,
    '--cluster-cidr', POD_CIDR,
    '--min-sync-period', '200ms',
    '--healthz-bind-address', '127.0.0.1:10256',
    '--metrics-bind-address', '127.0.0.1:10249',
    '--log-format', 'json',
    '--dns-listen', `${NODE_IP}:${DEMO_DNS_PORT}`,
    // Never the host's resolvers: other names get a quick SERVFAIL (nothing listens there).
    '--dns-upstream', `127.0.0.1:${DEMO_DNS_PORT}`,
  ];
}

function sendTraffic(tb: Testbed, t: DemoTarget): Promise<RequestResult[]> {
  return t.protocol === 'TCP' ? tb.tcpRequests(t.from, t.ip, t.port, t.count) : tb.udpRequests(t.from, t.ip, t.port, t.count);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function since(start: number): string {
  return seconds(performance.now() - start);
}

/** Runs `work` and resolves with how long it took, formatted. */
async function timed(work: () => Promise<unknown>): Promise<string> {
  const start = performance.now();
  await work();
  return since(start);
}

/** Drops a blank line that would follow another: a run may stop between any two steps. */
function collapseBlankLines(print: Print): Print {
  let lastBlank = true;
  return (line = '') => {
    if (line === '' && lastBlank) return;
    lastBlank = line === '';
    print(line);
  };
}

export async function runDemo(out: Print = (line = '') => process.stdout.write(`${line}\n`)): Promise<void> {
  const print = collapseBlankLines(out);
  if (process.getuid?.() !== 0) throw new DemoError('the demo needs root (network namespaces, iptables): run it as root');
  const started = performance.now();
  const demo = new DemoRun(examplesDir(), print);

  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (signal) => {
      if (demo.isStopping()) return print(`(${signal}: still tearing down)`);
      reject(new Interrupted(signal));
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const work = demo.run();
  // Once interrupted, the abandoned steps fail as their namespaces vanish: nobody waits for them.
  work.catch(() => undefined);
  let checks: TargetCheck[] = [];
  let failure: unknown;
  try {
    checks = await Promise.race([work, interrupted]);
  } catch (err) {
    failure = err;
  } finally {
    try {
      await demo.teardown();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  if (failure instanceof Interrupted) {
    print(`Interrupted (${failure.signal}); everything was torn down.`);
    process.exit(failure.signal === 'SIGINT' ? 130 : 143);
  }
  const failed = checks.filter((c) => c.problems.length > 0);
  if (failure !== undefined || failed.length > 0 || demo.dnsProblems.length > 0) {
    const tail = demo.agentTail();
    if (tail.length > 0) {
      print();
      print('Agent log (last lines)');
      for (const line of tail) print(`  ${line}`);
    }
  }
  if (failure !== undefined) throw failure;
  print();
  if (failed.length > 0 || demo.dnsProblems.length > 0) {
    print(`FAILED: ${[...failed.map((c) => displayService(c.target.service)), ...demo.dnsProblems].join(', ')}  (${since(started)})`);
    process.exitCode = 1;
  } else {
    print(`All ${checks.length} traffic checks passed, and the DNS lookups answered  (${since(started)})`);
  }
}
