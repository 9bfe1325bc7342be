// Throwaway topologies for privileged integration tests, built from network
// namespaces and veth pairs only:
//
//   client ns (eth0 192.168.77.2/24) ── ext0 192.168.77.1/24 ┐
//                                                            node ns (the agent programs iptables here)
//   pod ns <pod> (eth0 <podIP>/32) ── vpod<i> 169.254.1.1/32 ┘   route <podIP>/32 dev vpod<i>
//
// Pods reach the node through a link-local gateway (169.254.1.1, fe80::1 for IPv6)
// held by every node-side veth, like Calico's. "remote" pods stand for pods on
// another node: routing is the same, only their EndpointSlice nodeName differs.
//
// Containment: namespaces start isolated, and the only links are veths between
// our own namespaces, so nothing can reach the host or beyond. On top of that
// every namespace gets `blackhole default` routes (IPv4 and IPv6) wherever no
// other default route exists: the node and, for families without one, the
// client and pods. A packet to any address not ours ends in a blackhole in the
// node namespace (locally: connect() fails with EINVAL -> 'unreachable';
// forwarded: silently dropped -> 'timeout').

import { isIP, isIPv6 } from 'node:net';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { runChecked, type CommandResult, type RunOptions } from '../kernel/exec.js';
import { createCgroup, removeCgroup } from './test-cgroup.js';
import { addNetns, deleteNetns, ipIn, listNetns, NETNS_PREFIX, netnsArgv, ProcessGroup, sysctlIn } from './netns.js';
import * as traffic from './traffic.js';

export const NODE_IP = '192.168.77.1';
export const CLIENT_IP = '192.168.77.2';
export const NODE_IPV6 = 'fd77::1';
export const CLIENT_IPV6 = 'fd77::2';
export const POD_GATEWAY = '169.254.1.1';
export const POD_GATEWAY_V6 = 'fe80::1';
/** The default service ranges (as svcplane's defaults), routed to a dead-end device in the node. */
export const SERVICE_CIDRS = ['10.96.0.0/12', 'fd00:10:96::/108'] as const;
const SERVICE_DEVICE = 'svc0';
export const DEFAULT_IDENTITY_PORTS: traffic.IdentityPorts = { tcp: [8080], udp: [8080] };

export interface TestbedPodSpec {
  readonly name: string;
  /** IPv4 or IPv6 (the latter needs `ipv6: true`). */
  readonly ip: string;
  /** A second, IPv6 address for a dual-stack pod. */
  readonly ipv6?: string;
  readonly node?: 'local' | 'remote';
}

export interface TestbedOptions {
  /** [a-z0-9-]; namespaces are svcp-<name>-node, svcp-<name>-client, svcp-<name>-pod-<pod>. */
  readonly name: string;
  readonly pods: readonly TestbedPodSpec[];
  /** The client's address, inside 192.168.77.0/24 (default 192.168.77.2). */
  readonly clientIP?: string;
  /** Also give the node and client link IPv6 addresses (fd77::1, fd77::2). */
  readonly ipv6?: boolean;
  /**
   * Put every process started in the node and pod namespaces (not the client's: it stands for
   * the outside world) into a fresh cgroup v2 directory, svcp-<name> under the cgroup2 root:
   * what the eBPF mode's socket programs attach to.
   */
  readonly cgroup?: boolean;
}

export interface TestbedPod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly ipv6: string | undefined;
  readonly node: 'local' | 'remote';
  /** The pod's veth in the node namespace. */
  readonly hostInterface: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export class Testbed {
  readonly nodeNs: string;
  readonly clientNs: string;
  readonly nodeIP = NODE_IP;
  readonly nodeIPv6: string | undefined;
  readonly clientIPv6: string | undefined;
  readonly externalInterface = 'ext0';
  private readonly processes = new ProcessGroup();
  private readonly namespaces: string[] = [];
  /** The cgroup of the node's and pods' processes (TestbedOptions.cgroup), if any. */
  cgroupPath: string | undefined;

  constructor(
    readonly name: string,
    readonly pods: readonly TestbedPod[],
    readonly clientIP: string,
    readonly ipv6: boolean,
  ) {
    this.nodeNs = `${NETNS_PREFIX}${name}-node`;
    this.clientNs = `${NETNS_PREFIX}${name}-client`;
    this.nodeIPv6 = ipv6 ? NODE_IPV6 : undefined;
    this.clientIPv6 = ipv6 ? CLIENT_IPV6 : undefined;
  }

  pod(name: string): TestbedPod {
    const pod = this.pods.find((p) => p.name === name);
    if (!pod) throw new Error(`testbed ${this.name} has no pod ${name}`);
    return pod;
  }

  /** 'node', 'client', a pod name, or one of this testbed's namespace names. */
  ns(ref: string): string {
    if (ref === 'node') return this.nodeNs;
    if (ref === 'client') return this.clientNs;
    const pod = this.pods.find((p) => p.name === ref);
    if (pod) return pod.ns;
    if (this.allNamespaces().includes(ref)) return ref;
    throw new Error(`testbed ${this.name} has no namespace ${ref}`);
  }

  allNamespaces(): string[] {
    return [this.nodeNs, this.clientNs, ...this.pods.map((p) => p.ns)];
  }

  /** The cgroup processes started in `ns` join: the test bed's, except in the client's namespace. */
  private cgroupOf(ns: string): string | undefined {
    return ns === this.clientNs ? undefined : this.cgroupPath;
  }

  /** Runs a command inside one of our namespaces; throws CommandError on non-zero exit. */
  exec(ns: string, file: string, args: readonly string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<CommandResult> {
    const name = this.ns(ns);
    const cgroup = this.cgroupOf(name);
    return cgroup === undefined ? runChecked(file, args, { ...opts, netns: name }) : runChecked(...netnsArgv(name, file, args, cgroup), opts);
  }

  /** Starts a long-running process inside one of our namespaces; killed by destroy(). */
  spawn(ns: string, file: string, args: readonly string[]): ChildProcessWithoutNullStreams {
    const name = this.ns(ns);
    return this.processes.spawn(name, file, args, this.cgroupOf(name));
  }

  /** TCP and UDP servers in the pod answering with the pod's name. */
  startIdentityServers(pod: string, ports: traffic.IdentityPorts = DEFAULT_IDENTITY_PORTS): Promise<traffic.IdentityServer> {
    return traffic.startIdentityServer(this.processes, this.pod(pod).ns, pod, ports);
  }

  /** An identity server anywhere (e.g. in the node namespace), answering `identity`. */
  startIdentityServer(ns: string, identity: string, ports: traffic.IdentityPorts): Promise<traffic.IdentityServer> {
    return traffic.startIdentityServer(this.processes, this.ns(ns), identity, ports);
  }

  async tcpRequest(ns: string, ip: string, port: number, opts: traffic.RequestOptions = {}): Promise<traffic.RequestResult> {
    return firstOf(await this.tcpRequests(ns, ip, port, 1, opts));
  }

  tcpRequests(ns: string, ip: string, port: number, count: number, opts: traffic.RequestOptions = {}): Promise<traffic.RequestResult[]> {
    const name = this.ns(ns);
    return traffic.tcpRequests(name, ip, port, count, opts, this.cgroupOf(name));
  }

  async udpRequest(ns: string, ip: string, port: number, opts: traffic.UdpRequestOptions = {}): Promise<traffic.RequestResult> {
    return firstOf(await this.udpRequests(ns, ip, port, 1, opts));
  }

  udpRequests(ns: string, ip: string, port: number, count: number, opts: traffic.UdpRequestOptions = {}): Promise<traffic.RequestResult[]> {
    const name = this.ns(ns);
    return traffic.udpRequests(name, ip, port, count, opts, this.cgroupOf(name));
  }

  holdConnection(ns: string, ip: string, port: number, opts: { timeoutMs?: number } = {}): Promise<traffic.HeldConnection> {
    const name = this.ns(ns);
    return traffic.holdConnection(this.processes, name, ip, port, opts, this.cgroupOf(name));
  }

  /** Kills every process we started and deletes every namespace; safe to call twice. */
  async destroy(): Promise<void> {
    await this.processes.killAll();
    for (const ns of this.allNamespaces()) await deleteNetns(ns);
    if (this.cgroupPath !== undefined) await removeCgroup(this.cgroupPath);
  }

  /** Builds the topology (called by createTestbed). */
  async build(): Promise<void> {
    // Namespaces are created one by one (`ip netns add` sets up /run/netns on first use); what is
    // inside them is independent and built a few at a time (the demo has 17 pods).
    for (const ns of this.allNamespaces()) await addNetns(ns);
    await eachLimited(this.allNamespaces(), (ns) =>
      sysctlIn(ns, {
        'net.ipv4.conf.all.rp_filter': 0,
        'net.ipv4.conf.default.rp_filter': 0,
        'net.ipv6.conf.all.accept_dad': 0,
        'net.ipv6.conf.default.accept_dad': 0,
      }),
    );
    // route_localnet stays at the kernel's default (0): localhost NodePorts are the agent's to
    // enable (iptables mode sets it in its own namespace), so tests see what a node would.
    await sysctlIn(this.nodeNs, {
      'net.ipv4.ip_forward': 1,
      'net.ipv6.conf.all.forwarding': 1,
    });
    await this.buildClientLink();
    await this.buildServiceRoute();
    await eachLimited(this.pods, (pod) => this.buildPodLink(pod));
    await eachLimited(this.allNamespaces(), addBlackholes);
  }

  private async buildClientLink(): Promise<void> {
    const ext = this.externalInterface;
    await ipIn(this.nodeNs, ['link', 'add', ext, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.clientNs]);
    await ipIn(this.nodeNs, ['addr', 'add', `${NODE_IP}/24`, 'dev', ext]);
    await ipIn(this.clientNs, ['addr', 'add', `${this.clientIP}/24`, 'dev', 'eth0']);
    if (this.ipv6) {
      await ipIn(this.nodeNs, ['addr', 'add', `${NODE_IPV6}/64`, 'dev', ext, 'nodad']);
      await ipIn(this.clientNs, ['addr', 'add', `${CLIENT_IPV6}/64`, 'dev', 'eth0', 'nodad']);
    }
    await ipIn(this.nodeNs, ['link', 'set', ext, 'up']);
    await ipIn(this.clientNs, ['link', 'set', 'eth0', 'up']);
    await ipIn(this.clientNs, ['route', 'add', 'default', 'via', NODE_IP, 'dev', 'eth0']);
    if (this.ipv6) await ipIn(this.clientNs, ['-6', 'route', 'add', 'default', 'via', NODE_IPV6, 'dev', 'eth0']);
  }

  /**
   * A process on a real node reaches a service VIP because its default route covers it; the
   * route lookup happens before nat OUTPUT rewrites the destination. Our node's default is a
   * blackhole, so the service ranges get a route to a veth whose peer stays down (this kernel
   * has no dummy driver): packets that no rule rewrites are discarded there, inside the namespace.
   */
  private async buildServiceRoute(): Promise<void> {
    await ipIn(this.nodeNs, ['link', 'add', SERVICE_DEVICE, 'type', 'veth', 'peer', 'name', `${SERVICE_DEVICE}-sink`]);
    await ipIn(this.nodeNs, ['link', 'set', SERVICE_DEVICE, 'up']);
    for (const cidr of SERVICE_CIDRS) await ipIn(this.nodeNs, ['route', 'add', cidr, 'dev', SERVICE_DEVICE]);
  }

  private async buildPodLink(pod: TestbedPod): Promise<void> {
    const host = pod.hostInterface;
    await ipIn(this.nodeNs, ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.ns]);
    await ipIn(this.nodeNs, ['addr', 'add', `${POD_GATEWAY}/32`, 'dev', host]);
    await ipIn(this.nodeNs, ['addr', 'add', `${POD_GATEWAY_V6}/64`, 'dev', host, 'nodad']);
    await ipIn(this.nodeNs, ['link', 'set', host, 'up']);
    await ipIn(pod.ns, ['link', 'set', 'eth0', 'up']);
    for (const ip of [pod.ip, pod.ipv6].filter((a): a is string => a !== undefined)) {
      const v6 = isIPv6(ip);
      await ipIn(pod.ns, ['addr', 'add', `${ip}/${v6 ? 128 : 32}`, 'dev', 'eth0', ...(v6 ? ['nodad'] : [])]);
      await ipIn(this.nodeNs, [v6 ? '-6' : '-4', 'route', 'add', `${ip}/${v6 ? 128 : 32}`, 'dev', host]);
      if (v6) {
        await ipIn(pod.ns, ['-6', 'route', 'add', 'default', 'via', POD_GATEWAY_V6, 'dev', 'eth0']);
      } else {
        await ipIn(pod.ns, ['route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link']);
        await ipIn(pod.ns, ['route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0']);
      }
    }
  }
}

/** Builds a fresh testbed, first removing leftovers of a killed run with the same name. */
export async function createTestbed(opts: TestbedOptions): Promise<Testbed> {
  if (!NAME.test(opts.name)) throw new Error(`testbed name ${JSON.stringify(opts.name)} must match ${NAME}`);
  const clientIP = opts.clientIP ?? CLIENT_IP;
  if (!/^192\.168\.77\.\d+$/.test(clientIP) || isIP(clientIP) !== 4 || clientIP === NODE_IP) {
    throw new Error(`clientIP ${clientIP} must be in 192.168.77.0/24 and not ${NODE_IP}`);
  }
  const pods = opts.pods.map((spec, i): TestbedPod => {
    if (!NAME.test(spec.name) || ['node', 'client'].includes(spec.name)) throw new Error(`invalid pod name ${JSON.stringify(spec.name)}`);
    for (const ip of [spec.ip, spec.ipv6]) {
      if (ip === undefined) continue;
      if (isIP(ip) === 0) throw new Error(`pod ${spec.name}: ${ip} is not an IP address`);
      if (isIPv6(ip) && !opts.ipv6) throw new Error(`pod ${spec.name}: IPv6 address ${ip} needs ipv6: true`);
    }
    if (spec.ipv6 !== undefined && !isIPv6(spec.ipv6)) throw new Error(`pod ${spec.name}: ipv6 ${spec.ipv6} is not IPv6`);
    return {
      name: spec.name,
      ns: `${NETNS_PREFIX}${opts.name}-pod-${spec.name}`,
      ip: spec.ip,
      ipv6: spec.ipv6,
      node: spec.node ?? 'local',
      hostInterface: `vpod${i}`,
    };
  });
  if (new Set(pods.map((p) => p.name)).size !== pods.length) throw new Error('pod names must be unique');

  await cleanupStaleTestbeds(opts.name);
  const testbed = new Testbed(opts.name, pods, clientIP, opts.ipv6 ?? false);
  try {
    if (opts.cgroup) testbed.cgroupPath = await createCgroup(`${NETNS_PREFIX}${opts.name}`);
    await testbed.build();
  } catch (err) {
    await testbed.destroy();
    throw err;
  }
  return testbed;
}

/**
 * Deletes namespaces left by a killed run (and the processes in them): those of
 * testbed `name`, or with no name every `svcp-*` namespace (only for a CI
 * start: other test files may be using theirs).
 */
export async function cleanupStaleTestbeds(name?: string): Promise<string[]> {
  const ours = (ns: string): boolean =>
    name === undefined
      ? ns.startsWith(NETNS_PREFIX)
      : ns === `${NETNS_PREFIX}${name}-node` || ns === `${NETNS_PREFIX}${name}-client` || ns.startsWith(`${NETNS_PREFIX}${name}-pod-`);
  const stale = (await listNetns()).filter(ours);
  for (const ns of stale) await deleteNetns(ns);
  return stale;
}

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>, limit = 6): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function addBlackholes(ns: string): Promise<void> {
  for (const family of ['-4', '-6']) {
    const { stdout } = await ipIn(ns, [family, 'route', 'show', 'default']);
    if (stdout.trim() === '') await ipIn(ns, [family, 'route', 'add', 'blackhole', 'default']);
  }
}

function firstOf(results: traffic.RequestResult[]): traffic.RequestResult {
  const [first] = results;
  if (!first) throw new Error('client returned no result');
  return first;
}

export type { HeldConnection, IdentityPorts, IdentityServer, PeerRecord, RequestResult, TrafficErrorKind } from './traffic.js';
