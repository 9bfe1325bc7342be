// Data-plane benchmark of one proxy mode at one size: a throwaway test bed, N services
// programmed through the mode's real backend (N-1 synthetic ones, then the measured one,
// named to sort last so that iptables pays its linear walk), and the latency client run
// from the node against the VIP and, as the floor, against the backend directly.
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createBackend } from '../agent/modes.js';
import type { ProxyMode } from '../agent/config.js';
import type { EndpointSlice, Service } from '../model/types.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { defaultNodeContext } from '../state/node-context.js';
import { ObjectStore } from '../state/object-store.js';
import { createTestbed, type Testbed } from '../testbed/testbed.js';
import { latencySummary } from './report/stats.js';
import type { DataPlaneResult } from './report/report-types.js';
import { syntheticEvents, syntheticService } from './synthetic.js';

const LATENCY_SCRIPT = fileURLToPath(new URL('../testbed/latency.mjs', import.meta.url));
const POD_IP = '10.244.1.11';
const VIP = '10.96.255.250';

export interface DataPlaneOptions {
  readonly durationMs: number;
  readonly runs: number;
  readonly endpoints: number;
}

/** The measured service: last in key order, one endpoint (the pod), TCP 80 and UDP 53. */
function measured(): { service: Service; slice: EndpointSlice } {
  const base = syntheticService(0);
  const service: Service = {
    ...base, namespace: 'zz-bench', name: 'zz-measured', type: 'ClusterIP', clusterIPs: [VIP], selector: { app: 'measured' },
    ports: [{ name: 'tcp', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }, { name: 'udp', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 0 }],
  };
  const slice: EndpointSlice = {
    namespace: 'zz-bench', name: 'zz-measured-1', serviceName: 'zz-measured', addressType: 'IPv4', origin: 'EndpointSlice',
    ports: [{ name: 'tcp', protocol: 'TCP', port: 8080 }, { name: 'udp', protocol: 'UDP', port: 5353 }],
    endpoints: [{ addresses: [POD_IP], ready: true, serving: true, terminating: false, nodeName: 'node-a', zone: undefined, hintsForZones: [], hintsForNodes: [] }],
  };
  return { service, slice };
}

interface ClientOutput {
  readonly micros: number[];
  readonly elapsedMs: number;
  readonly errors: number;
}

async function client(tb: Testbed, mode: 'tcp' | 'udp' | 'stream', ip: string, port: number, durationMs: number): Promise<ClientOutput> {
  const config = { mode, ip, port, durationMs, concurrency: mode === 'tcp' ? 4 : 2 };
  const { stdout } = await tb.exec('node', process.execPath, [LATENCY_SCRIPT, JSON.stringify(config)], { timeoutMs: durationMs + 30_000 });
  const out = JSON.parse(stdout) as ClientOutput;
  if (out.micros.length === 0) throw new Error(`bench: no ${mode} request to ${ip}:${port} succeeded (${out.errors} errors)`);
  return out;
}

async function measureTarget(tb: Testbed, ip: string, tcpPort: number, udpPort: number, durationMs: number): Promise<DataPlaneResult['direct'][number]> {
  const tcp = await client(tb, 'tcp', ip, tcpPort, durationMs);
  const udp = await client(tb, 'udp', ip, udpPort, durationMs);
  const stream = await client(tb, 'stream', ip, tcpPort, durationMs);
  return {
    tcp: latencySummary(tcp.micros), connPerSec: (tcp.micros.length * 1000) / tcp.elapsedMs,
    udp: latencySummary(udp.micros), reqPerSec: (stream.micros.length * 1000) / stream.elapsedMs,
  };
}

export async function measureDataPlane(mode: ProxyMode, services: number, opts: DataPlaneOptions): Promise<DataPlaneResult> {
  const tb = await createTestbed({ name: `bench-${mode}`, pods: [{ name: 'a1', ip: POD_IP }], cgroup: mode === 'ebpf' });
  const ctx = defaultNodeContext({ nodeName: 'node-a', nodeIPs: [tb.nodeIP], clusterCIDRs: ['10.244.0.0/16'] });
  const ebpf = { cgroupPath: tb.cgroupPath, pinRoot: `/sys/fs/bpf/svcp-bench-dp-${process.pid}`, interfaces: [] };
  const backend = await createBackend(mode, { ctx, logger: pino({ level: 'silent' }), netns: tb.nodeNs, ebpf });
  try {
    // The short-connection client opens thousands of connections a second, and every run's leave
    // TIME_WAIT sockets for a minute. In eBPF mode VIP and direct connections share one 4-tuple
    // space (the VIP is rewritten at connect), so with several runs the ephemeral ports ran out
    // (seen at --runs 5). As load generators do: reuse TIME_WAIT ports, use the whole range.
    await tb.exec('node', 'sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65000']);
    await tb.startIdentityServers('a1', { tcp: [8080], udp: [5353] });
    const store = new ObjectStore();
    const { service, slice } = measured();
    store.apply([...syntheticEvents(services - 1, opts.endpoints), { type: 'service-upsert', service }, { type: 'slice-upsert', slice }]);
    await backend.sync(new DesiredStateBuilder(ctx).update(store, 'all').state);
    const viaVip: DataPlaneResult['viaVip'][number][] = [];
    const direct: DataPlaneResult['direct'][number][] = [];
    for (let run = 0; run < opts.runs; run++) {
      viaVip.push(await measureTarget(tb, VIP, 80, 53, opts.durationMs));
      direct.push(await measureTarget(tb, POD_IP, 8080, 5353, opts.durationMs));
    }
    return { mode, services, viaVip, direct };
  } finally {
    await backend.cleanup().catch(() => undefined);
    await tb.destroy();
  }
}
