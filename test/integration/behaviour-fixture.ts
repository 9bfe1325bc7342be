// The shared world of the behaviour suite: one test bed, one manifest directory, one agent.
// Every proxy mode runs the same suite against it (test/integration/<mode>.test.ts).
import { AgentProcess } from '../../src/testbed/agent-process.js';
import { createTestbed, type Testbed, type TestbedOptions } from '../../src/testbed/testbed.js';
import type { IdentityServer, RequestResult } from '../../src/testbed/traffic.js';
import { ManifestDir, serviceDoc, sliceDoc, type EndpointSpec, type ServiceSpec } from '../lib/manifests.js';

/** What a proxy mode brings to the shared suite. */
export interface ModeDriver {
  readonly mode: string;
  /** Breaks the programmed rules by hand, as an operator might (the drift test). */
  breakRules(tb: Testbed): Promise<void>;
  /** A normalised dump of everything svcplane owns in the kernel (compared across a restart). */
  snapshot(tb: Testbed): Promise<string>;
  /** The mode's own gauge of what it programmed, as /metrics shows it when rules exist. */
  readonly ruleMetric: RegExp;
  /** Test bed options the mode needs (the eBPF mode: a cgroup for the node's and pods' processes). */
  readonly testbed?: Pick<TestbedOptions, 'cgroup'>;
  /**
   * The dataplane is the agent's own process (userspace mode): backends see the node, not the
   * client, as the source, and a killed agent takes the proxy down until it restarts.
   */
  readonly proxiesInProcess?: boolean;
  /**
   * How much slower than this host the mode's machine runs (IPVS: a guest kernel under TCG
   * emulation, where every process start costs seconds): its deadlines are stretched by it.
   */
  readonly timeScale?: number;
  /**
   * ClientIP affinity lasts while the client's connection entries do, not just its timeout
   * (IPVS persistence templates): the suite checks the pinning, not the expiry.
   */
  readonly affinityOutlivesConnections?: boolean;
  /** Agent flags the mode needs, given the test bed. */
  agentArgs?(tb: Testbed): string[];
  /** What `127.0.0.1:NODEPORT` on the node gets: the service (iptables mode, as kube-proxy's), or refused. */
  readonly localhostNodePorts: 'served' | 'refused';
  /**
   * kube-proxy's nftables cluster-ips-check: an unused port of a cluster IP is refused, an
   * unallocated address of the service CIDR dropped; without it such packets leave un-NATed.
   * 'local-ports': the cluster IPs are the node's own addresses (IPVS, on kube-ipvs0), so an
   * unused port is refused by the node's stack, and unallocated addresses leave un-NATed.
   */
  readonly clusterIPCheck?: boolean | 'local-ports';
  /** Cluster IPs are served to traffic routed in from outside the node (not in eBPF mode: sockets only). */
  readonly clusterIPFromOutside?: boolean;
}

export const POD_IPS = { a1: '10.244.1.11', a2: '10.244.1.12', b1: '10.244.2.11', b2: '10.244.2.12' } as const;
export type PodName = keyof typeof POD_IPS;
/** External and load-balancer IPs live in 192.168.77.128/25, routed by the client via the node. */
export const EXTERNAL_IP = '192.168.77.150';
export const LB_IP = '192.168.77.200';

export function ep(pod: PodName, extra: Omit<EndpointSpec, 'ip'> = {}): EndpointSpec {
  return { ip: POD_IPS[pod], node: pod.startsWith('a') ? 'node-a' : 'node-b', ...extra };
}

export class BehaviourWorld {
  readonly manifests = new ManifestDir();
  readonly servers = new Map<string, IdentityServer>();
  agent!: AgentProcess;

  private constructor(
    readonly tb: Testbed,
    readonly driver: ModeDriver,
  ) {}

  static async create(driver: ModeDriver): Promise<BehaviourWorld> {
    const tb = await createTestbed({
      name: `bh-${driver.mode}`,
      ...driver.testbed,
      pods: (Object.keys(POD_IPS) as PodName[]).map((name) => ({ name, ip: POD_IPS[name], node: name.startsWith('a') ? 'local' : 'remote' })),
    });
    const world = new BehaviourWorld(tb, driver);
    try {
      await tb.exec('client', 'ip', ['route', 'add', '192.168.77.128/25', 'via', tb.nodeIP]);
      // Started together: on an emulated machine each process start costs seconds.
      const started = await Promise.all(Object.keys(POD_IPS).map(async (pod) => [pod, await tb.startIdentityServers(pod, { tcp: [8080, 8443], udp: [8080, 5353] })] as const));
      for (const [pod, server] of started) world.servers.set(pod, server);
    } catch (err) {
      await tb.destroy();
      throw err;
    }
    return world;
  }

  agentArgs(): string[] {
    return [
      '--mode', this.driver.mode, '--manifests', this.manifests.path, '--node-name', 'node-a', '--node-ip', this.tb.nodeIP,
      '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '500ms', '--sync-period', '3s', '--log-format', 'json',
      '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
      ...(this.driver.agentArgs?.(this.tb) ?? []),
    ];
  }

  async startAgent(): Promise<void> {
    this.agent = new AgentProcess(this.tb, this.agentArgs());
    await this.agent.start(45_000 * (this.driver.timeScale ?? 1));
  }

  /** Writes a service (and, unless `endpoints` is undefined, its slice) to its own file. */
  service(spec: ServiceSpec, endpoints?: readonly EndpointSpec[], ports?: Parameters<typeof sliceDoc>[2]): void {
    const docs: unknown[] = [serviceDoc(spec)];
    if (endpoints) docs.push(sliceDoc(spec.name, endpoints, ports));
    this.manifests.write(`${spec.name}.yaml`, docs);
  }

  async destroy(): Promise<void> {
    try {
      await this.agent?.kill('SIGTERM');
    } finally {
      await this.tb.destroy();
      this.manifests.destroy();
    }
  }
}

export function tally(results: readonly RequestResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const k = r.ok ? r.identity : `error:${r.error}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Retries `check` until it passes or `timeoutMs` runs out (then its last error is thrown). */
export { eventually } from '../lib/eventually.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
