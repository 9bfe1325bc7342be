// What the `svcplane trace` tests check against real packets, shared by the host's modes
// (test/integration/trace.test.ts) and IPVS in the VM (test/vm/ipvs-tools.vm-test.ts): the
// trace of the plan and the live trace agree, and real requests reach the traced endpoints
// with the source address the trace says (masqueraded or the client's own).
import { expect } from 'vitest';
import { cliEntry } from '../../src/testbed/agent-process.js';
import type { CommandResult } from '../../src/kernel/exec.js';
import type { IdentityServer, RequestResult } from '../../src/testbed/traffic.js';

export interface TraceOutcome {
  readonly verdict: string;
  readonly probability: number;
  readonly destination?: string;
  readonly masqueraded: boolean;
}

/** `svcplane trace --output json`, the fields the tests read. */
export interface TraceReport {
  readonly outcomes: readonly TraceOutcome[];
  readonly reason?: string;
  readonly disagreements?: readonly string[];
}

export interface TraceCheckOptions {
  /** Runs a program in the node's namespace (as `Testbed.exec('node', …)`); the CLI runs through it. */
  exec(file: string, args: readonly string[]): Promise<CommandResult>;
  /** The flags every CLI call ends with (mode, manifests, node name and address, …). */
  flags(): readonly string[];
  /** Sends `count` TCP requests from namespace `ns` to `ip:port`. */
  tcpRequests(ns: string, ip: string, port: number, count: number): Promise<readonly RequestResult[]>;
  /** Pod name -> address; every pod runs an identity server on `podPort`. */
  readonly pods: Readonly<Record<string, string>>;
  readonly podPort: number;
  /** The pods' identity servers, by pod name (filled in before the first request). */
  readonly servers: ReadonlyMap<string, IdentityServer>;
}

export interface TraceChecks {
  /** Runs `svcplane <args> <flags>` in the node's namespace; its stdout. */
  cli(args: readonly string[]): Promise<string>;
  /** One trace of a packet, of the plan or (`live`) of what the kernel holds. */
  trace(from: string, src: string, dst: string, live: boolean): Promise<TraceReport>;
  /** Both traces of a packet, which must agree; the live one is returned. */
  traced(from: string, src: string, dst: string): Promise<TraceReport>;
  /**
   * Sends `count` requests; returns the endpoints that answered (or the errors), and checks the
   * source each traced endpoint saw: the client's own address unless masqueraded.
   */
  requests(ns: string, src: string, ip: string, port: number, count: number, r: TraceReport): Promise<string[]>;
  /** The distinct `address:port` of the pods that answered, or `error:<kind>`, sorted. */
  answered(results: readonly RequestResult[]): string[];
}

/** The traced DNAT destinations, sorted. */
export const tracedEndpoints = (r: TraceReport): string[] => r.outcomes.filter((o) => o.verdict === 'DNAT').map((o) => o.destination as string).sort();

export function traceChecks(o: TraceCheckOptions): TraceChecks {
  const podAt = (destination: string | undefined): string => {
    const pod = Object.entries(o.pods).find(([, ip]) => `${ip}:${o.podPort}` === destination)?.[0];
    if (pod === undefined) throw new Error(`traced DNAT to ${destination ?? '(none)'}, which is no pod of this test`);
    return pod;
  };
  const server = (pod: string): IdentityServer => {
    const s = o.servers.get(pod);
    if (s === undefined) throw new Error(`no identity server for pod ${pod}`);
    return s;
  };
  const answered = (results: readonly RequestResult[]): string[] =>
    [...new Set(results.map((x) => (x.ok ? `${o.pods[x.identity] ?? `unknown pod ${x.identity}`}:${o.podPort}` : `error:${x.error}`)))].sort();
  const cli = async (args: readonly string[]): Promise<string> => (await o.exec(process.execPath, [cliEntry(), ...args, ...o.flags()])).stdout;
  const trace = async (from: string, src: string, dst: string, live: boolean): Promise<TraceReport> =>
    JSON.parse(await cli(['trace', '--from', from, '--src', src, '--dst', dst, '--output', 'json', ...(live ? ['--live'] : [])])) as TraceReport;

  return {
    cli,
    trace,
    answered,
    async traced(from, src, dst) {
      const plan = await trace(from, src, dst, false);
      const live = await trace(from, src, dst, true);
      expect(live.disagreements).toEqual([]);
      const same = (x: TraceOutcome): unknown =>
        expect.objectContaining({ verdict: x.verdict, masqueraded: x.masqueraded, probability: expect.closeTo(x.probability, 6), ...(x.destination !== undefined ? { destination: x.destination } : {}) });
      expect(live.outcomes).toEqual(plan.outcomes.map(same));
      return live;
    },
    async requests(ns, src, ip, port, count, r) {
      const seen = new Map([...o.servers].map(([pod, s]) => [pod, s.peers.length]));
      const results = await o.tcpRequests(ns, ip, port, count);
      for (const x of r.outcomes.filter((y) => y.verdict === 'DNAT')) {
        const pod = podAt(x.destination);
        const sources = new Set(server(pod).peers.slice(seen.get(pod)).map((p) => p.from));
        if (sources.size === 0) continue;
        if (x.masqueraded) expect(sources.has(src), `${pod} saw ${[...sources].join(', ')}`).toBe(false);
        else expect([...sources], `${pod} saw`).toEqual([src]);
      }
      return answered(results);
    },
  };
}
