// `svcplane demo`: builds a throwaway network-namespace test bed with one pod per
// endpoint of the bundled examples, then runs the real agent in the node namespace in every
// proxy mode this machine can run, one after the other (or one: --mode), each with the same
// checks: traffic to a few services, DNS lookups from a pod, pages fetched through the Ingress
// controller. It shows who answered and what each mode programmed, compares the modes in a
// table, and tears everything down. It doubles as a smoke test: a failed request or a silent
// endpoint makes it exit non-zero.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SvcplaneError } from '../util/errors.js';
import { AgentProcess } from '../testbed/agent-process.js';
import { listNetns, NETNS_PREFIX } from '../testbed/netns.js';
import { cleanupStaleTestbeds, CLIENT_IP, createTestbed, NODE_IP, type RequestResult, type Testbed } from '../testbed/testbed.js';
import { demoPods, DemoError, loadDemo, resolveTarget, type DemoPod, type DemoTarget, type TargetRequest } from './demo-plan.js';
import { DEMO_DNS_PORT, podLookups } from './demo-dns.js';
import { DEMO_HTTP_PORT, DEMO_HTTPS_PORT, fetchThroughIngressWhenReady, ingressBackendKeys, resolveIngressTarget } from './demo-ingress.js';
import { demoPinRoot, leftoversOf, modeArgs, programmedExcerpt, unavailableReason, type DemoMode } from './demo-modes.js';
import { checkTarget, displayService, formatLogRecords, renderCheck, renderComparison, type ModeOutcome, type TargetCheck } from './demo-report.js';
import { fallbackReason, residentMB, stopOrphanNginx, stopWithin } from './demo-process.js';

const TESTBED_NAME = 'demo';
const NODE_NAME = 'node-a';
const POD_CIDR = '10.244.0.0/16';
const EXCERPT_SERVICE = 'default/my-service';
/** Generous: on a loaded machine Node's start-up alone can take many seconds. */
const FIRST_SYNC_TIMEOUT_MS = 90_000;
const INGRESS_READY_TIMEOUT_MS = 15_000;
const INGRESS_REQUESTS = 20;
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

interface Scenario {
  /** The endpoints the checks reach (only those get a pod). */
  readonly pods: readonly DemoPod[];
  readonly dnsPod: string | undefined;
  readonly targets: readonly DemoTarget[];
  readonly clusterIP: string;
}

/** One demo run: its steps, and a teardown that is safe to call at any point, once or more. */
class DemoRun {
  private building: Promise<Testbed> | undefined;
  private agent: AgentProcess | undefined;
  private tornDown: Promise<void> | undefined;
  private aborted = false;
  private readonly stateDir = mkdtempSync(join(tmpdir(), 'svcp-demo-'));

  constructor(
    private readonly examples: string,
    private readonly modes: readonly DemoMode[],
    private readonly print: Print,
  ) {}

  async run(): Promise<ModeOutcome[]> {
    const scenario = await this.load();
    const { pods } = scenario;
    const local = pods.filter((p) => p.node === 'local').length;
    const started = performance.now();
    // Its own cgroup: where the eBPF mode's socket programs attach (the client stays outside).
    this.building = createTestbed({ name: TESTBED_NAME, cgroup: true, pods: pods.map((p) => ({ name: p.name, ip: p.ip, node: p.node })) });
    const tb = await this.building;
    this.print(`Test bed   ${pods.length} pods (${local} on ${NODE_NAME}, ${pods.length - local} remote), node ${NODE_IP}, client ${CLIENT_IP}  [${since(started)}]`);
    this.checkAborted();
    const serversTook = await timed(() => Promise.all(pods.map((p) => tb.startIdentityServers(p.name, { tcp: p.tcp, udp: p.udp, http: p.http }))));
    const portCount = pods.reduce((n, p) => n + p.tcp.length + p.udp.length + p.http.length, 0);
    this.print(`Pods       an identity server in each pod, ${portCount} ports listening (${pods.filter((p) => p.http.length > 0).length} pods answer HTTP)  [${serversTook}]`);

    const outcomes: ModeOutcome[] = [];
    let previous: DemoMode | undefined;
    for (const mode of this.modes) {
      const outcome = await this.runMode(tb, scenario, mode, previous);
      outcomes.push(outcome);
      if (outcome.result !== 'skipped') previous = mode;
    }
    return outcomes;
  }

  /**
   * One mode: the agent (which removes the previous mode's dataplane as it starts), the checks,
   * what it programmed, then the agent stopped (its dataplane stays, as kube-proxy's does).
   */
  private async runMode(tb: Testbed, scenario: Scenario, mode: DemoMode, previous: DemoMode | undefined): Promise<ModeOutcome> {
    this.checkAborted();
    this.print();
    this.print(`=== ${mode} ${'='.repeat(Math.max(3, 60 - mode.length))}`);
    const unavailable = unavailableReason(mode, tb);
    if (unavailable !== undefined) {
      this.print(`Skipped    this machine cannot run ${mode}: ${unavailable}`);
      return { mode, result: 'skipped', note: `skipped: ${unavailable}` };
    }
    const started = performance.now();
    const agent = new AgentProcess(tb, this.agentArgs(mode, tb));
    this.agent = agent;
    try {
      await agent.start(FIRST_SYNC_TIMEOUT_MS);
      const firstSyncMs = performance.now() - started;
      const ran = agent.logs.find((r) => r.msg === 'synced proxy rules')?.['mode'];
      if (ran !== mode) throw new DemoError(`the agent ran ${String(ran)} instead of ${mode}: ${fallbackReason(agent) ?? 'no reason logged'}`);
      this.print(`Agent      svcplane run --mode ${mode} --ingress --dns-listen ${NODE_IP}:${DEMO_DNS_PORT} in ${tb.nodeNs}, first sync done  [${seconds(firstSyncMs)}]`);
      if (previous !== undefined) {
        const left = await leftoversOf(previous, tb);
        if (left !== '') throw new DemoError(`the ${previous} mode's ${left} are still in ${tb.nodeNs}: the ${mode} agent did not remove them`);
        const said = agent.logs.some((r) => typeof r.msg === 'string' && r.msg.startsWith('removing'));
        this.print(`Switched   nothing of the ${previous} mode is left in the kernel${said ? ' (the agent removed it at start-up)' : ''}`);
      }
      const checks: TargetCheck[] = [];
      for (const target of scenario.targets) {
        this.checkAborted();
        const check = checkTarget(target, await this.send(tb, target));
        checks.push(check);
        this.print();
        this.print(renderCheck(check));
      }
      this.checkAborted();
      const dns = await this.showDns(tb, scenario.dnsPod, previous === undefined);
      this.checkAborted();
      const excerpt = await programmedExcerpt(mode, tb, EXCERPT_SERVICE, scenario.clusterIP);
      this.print();
      this.print(`Programmed for ${EXCERPT_SERVICE} (${excerpt.title})`);
      for (const line of excerpt.lines) this.print(`  ${line}`);
      const rssMB = residentMB(agent.pid);
      const failed = checks.filter((c) => c.problems.length > 0).map((c) => displayService(c.target.service));
      if (dns.answered < dns.total) failed.push(`${dns.total - dns.answered} DNS lookups`);
      if (failed.length > 0) this.printAgentTail(agent);
      return {
        mode, result: failed.length === 0 ? 'passed' : 'FAILED', firstSyncMs, checks, dns,
        ...(rssMB === undefined ? {} : { rssMB }), ...(failed.length === 0 ? {} : { note: `failed: ${failed.join(', ')}` }),
      };
    } catch (err) {
      if (this.aborted) throw err;
      this.print(`FAILED     ${(err as Error).message.split('\n')[0]}`);
      this.printAgentTail(agent);
      return { mode, result: 'FAILED', note: (err as Error).message.split('\n')[0] ?? '' };
    } finally {
      if (!this.aborted) await this.stopAgent(mode);
    }
  }

  /** Ingress targets wait for nginx to load the route (it follows the first sync); the others go at once. */
  private async send(tb: Testbed, t: DemoTarget): Promise<RequestResult[]> {
    if (t.kind !== 'Ingress') return t.protocol === 'TCP' ? tb.tcpRequests(t.from, t.ip, t.port, t.count) : tb.udpRequests(t.from, t.ip, t.port, t.count);
    return fetchThroughIngressWhenReady(tb.clientNs, t, INGRESS_READY_TIMEOUT_MS);
  }

  /** Cluster DNS from the agent, looked up from a pod namespace (shown in full for the first mode). */
  private async showDns(tb: Testbed, pod: string | undefined, full: boolean): Promise<{ answered: number; total: number }> {
    if (pod === undefined) return { answered: 0, total: 0 };
    const lookups = await podLookups(tb.pod(pod).ns, NODE_IP);
    const answered = lookups.filter((l) => l.ok).length;
    this.print();
    if (!full) {
      this.print(`DNS        from pod ${pod}: ${answered} of ${lookups.length} lookups answered (${lookups.map((l) => l.command).join('; ')})`);
      return { answered, total: lookups.length };
    }
    this.print(`DNS        from pod ${pod} (resolv.conf: nameserver ${NODE_IP}, search default.svc.cluster.local ...), served by svcplane run --dns-listen`);
    for (const l of lookups) this.print(`  $ ${l.command}${l.output.length === 0 ? '   (no answer)' : ''}\n${l.output.map((o) => `    ${o}`).join('\n')}`);
    return { answered, total: lookups.length };
  }

  private printAgentTail(agent: AgentProcess): void {
    this.print('Agent log (last lines)');
    for (const line of formatLogRecords(agent.logs.slice(-15))) this.print(`  ${line}`);
  }

  private async stopAgent(mode: DemoMode): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    const note = agent ? await stopWithin(agent) : 'not started';
    // An agent stopped before its signal handlers were set leaves its nginx behind, holding port 80.
    await stopOrphanNginx(join(this.stateDir, 'nginx.pid'));
    this.print(`Stopped    agent ${note}; its ${mode} dataplane stays until the next agent (or the teardown) removes it`);
  }

  private agentArgs(mode: DemoMode, tb: Testbed): string[] {
    return [
      '--mode', mode,
      '--manifests', this.examples,
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
      '--ingress', '--http-listen', `${NODE_IP}:${DEMO_HTTP_PORT}`, '--https-listen', `${NODE_IP}:${DEMO_HTTPS_PORT}`,
      // One for every mode (the agents run one at a time): its default certificate is made once.
      '--ingress-state-dir', this.stateDir,
      ...modeArgs(mode, tb),
    ];
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

  private async load(): Promise<Scenario> {
    const { state, ingresses } = await loadDemo({ manifests: this.examples, nodeName: NODE_NAME, nodeIP: NODE_IP, clusterCIDR: POD_CIDR });
    const pods = demoPods(state, POD_CIDR, NODE_NAME, ingressBackendKeys(state, ingresses));
    const targets = TARGETS.map((t) => resolveTarget(state, pods, t, NODE_IP));
    const ingress = resolveIngressTarget(state, pods, ingresses, NODE_IP, INGRESS_REQUESTS);
    if (ingress) targets.push(ingress);
    // A pod (a namespace, an identity server) only for endpoints the checks reach: the agent
    // programs every endpoint regardless, and each pod costs a process on a machine it shares.
    const reached = new Set(targets.flatMap((t) => t.expected.map((p) => p.name)));
    const used = pods.filter((p) => reached.has(p.name));
    const clusterIP = targets[0]?.ip ?? '';
    this.print(`svcplane demo: ${state.size} service ports and ${ingresses.length} Ingress from ${this.examples}; pods for the ${used.length} endpoints the checks reach; modes: ${this.modes.join(', ')}`);
    return { pods: used, dnsPod: targets[0]?.expected[0]?.name, targets, clusterIP };
  }

  private checkAborted(): void {
    if (this.aborted) throw new DemoError('demo aborted');
  }

  private async destroy(): Promise<void> {
    const started = performance.now();
    const tb = await this.building?.catch(() => undefined);
    const agentNote = this.agent ? await stopWithin(this.agent) : undefined;
    // The last eBPF agent's pins (its links hold the programs on the test bed's cgroup), before
    // the cgroup goes.
    if (existsSync(demoPinRoot(TESTBED_NAME))) rmSync(demoPinRoot(TESTBED_NAME), { recursive: true, force: true });
    await tb?.destroy();
    // Also whatever a build interrupted half-way left behind.
    await cleanupStaleTestbeds(TESTBED_NAME);
    rmSync(this.stateDir, { recursive: true, force: true });
    const left = (await listNetns()).filter((ns) => ns.startsWith(`${NETNS_PREFIX}${TESTBED_NAME}-`));
    if (left.length > 0) throw new DemoError(`teardown left network namespaces behind: ${left.join(', ')}`);
    this.print();
    this.print(`Teardown   ${agentNote === undefined ? '' : `agent ${agentNote}, `}test bed deleted  [${since(started)}]`);
  }
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

export async function runDemo(modes: readonly DemoMode[], out: Print = (line = '') => process.stdout.write(`${line}\n`)): Promise<void> {
  const print = collapseBlankLines(out);
  if (process.getuid?.() !== 0) throw new DemoError('the demo needs root (network namespaces, iptables): run it as root');
  const started = performance.now();
  const demo = new DemoRun(examplesDir(), modes, print);

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
  let outcomes: ModeOutcome[] = [];
  let failure: unknown;
  try {
    outcomes = await Promise.race([work, interrupted]);
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
  if (failure !== undefined) throw failure;
  print();
  print('The modes side by side (the same checks in each)');
  for (const line of renderComparison(outcomes)) print(line === '' ? '' : `  ${line}`);
  print();
  const failed = outcomes.filter((o) => o.result === 'FAILED');
  const ran = outcomes.filter((o) => o.result !== 'skipped');
  if (failed.length > 0 || ran.length === 0) {
    print(`FAILED: ${failed.length > 0 ? failed.map((o) => o.mode).join(', ') : 'no mode could run'}  (${since(started)})`);
    process.exitCode = 1;
  } else {
    const checks = ran.reduce((n, o) => n + (o.checks?.length ?? 0), 0);
    print(`All ${checks} checks passed in ${ran.length} mode${ran.length === 1 ? '' : 's'} (${ran.map((o) => o.mode).join(', ')}), and the DNS lookups answered  (${since(started)})`);
  }
}
