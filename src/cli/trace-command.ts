// `svcplane trace`: where one packet goes in a mode, traced through the plan for the
// manifests, or (--live) through what the kernel of this network namespace holds now,
// compared with the plan. One report for every mode (trace-report.ts).
import type { Command } from 'commander';
import { compareOutcomes, reportOutcomes, type TraceFrom, type TraceQuery } from '../backends/common/trace.js';
import { ipFamily, isPort, parseHostPort } from '../backends/common/address.js';
import type { Protocol } from '../model/types.js';
import { addNodeOptions } from './options.js';
import { loadPlanInput } from './plan-input.js';
import { PLANNED_MODES, type PlannedMode } from './plan-modes.js';
import { queryFamily, traceLive, tracePlan, TraceInputError } from './trace-modes.js';
import { explain, renderReport, type TraceReport } from './trace-report.js';

const FROM: readonly TraceFrom[] = ['pod', 'node', 'outside'];
const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** `IP:PORT/PROTO` (`[IPv6]:PORT/PROTO`); the protocol defaults to TCP. */
export function parseTraceQuery(from: unknown, src: unknown, dst: unknown): TraceQuery {
  if (typeof from !== 'string' || !(FROM as readonly string[]).includes(from)) throw new TraceInputError(`--from must be one of ${FROM.join(', ')}, not "${String(from)}"`);
  if (typeof src !== 'string' || ipFamily(src) === undefined) throw new TraceInputError(`--src must be an IP address, not "${String(src)}"`);
  const m = typeof dst === 'string' ? /^(.*?)(?:\/([A-Za-z]+))?$/.exec(dst) : null;
  const hostPort = m === null ? undefined : parseHostPort(m[1] ?? '');
  const protocol = (m?.[2] ?? 'TCP').toUpperCase();
  if (hostPort === undefined || !isPort(hostPort.port)) throw new TraceInputError(`--dst must be IP:PORT/PROTO (IPv6: [IP]:PORT/PROTO), not "${String(dst)}"`);
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new TraceInputError(`--dst protocol must be TCP, UDP or SCTP, not "${m?.[2]}"`);
  return { from: from as TraceFrom, src, dst: hostPort.ip, dport: hostPort.port, protocol: protocol as Protocol };
}

export function registerTrace(program: Command): void {
  addNodeOptions(program.command('trace'))
    .description('where a packet goes in a mode: chains or maps, endpoints and their shares, masquerading, or REJECT/DROP and why; through the plan for the manifests, or --live through the kernel now')
    .requiredOption('--from <where>', 'pod (a pod\'s interface), node (a process on the node) or outside (another host)')
    .requiredOption('--src <ip>', 'the packet\'s source address')
    .requiredOption('--dst <ip:port/proto>', 'destination, e.g. 10.96.0.100:80/TCP or [fd00::1]:80/UDP')
    .option('--live', 'trace what the kernel of this network namespace holds now (root), and say where it and the plan disagree')
    .option('--output <format>', 'text (default) or json', 'text')
    .option('--ip-family <family>', 'IPv4, IPv6 or both (default: every family that has services; IPv4 always)')
    .option('--userspace-no-redirect', 'userspace mode: listeners only, no redirect rules')
    .option('--userspace-listen-address <ip>', 'userspace mode with --userspace-no-redirect: the listeners\' address')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      if (opts.output !== 'text' && opts.output !== 'json') throw new TraceInputError(`--output must be text or json, not "${String(opts.output)}"`);
      const query = parseTraceQuery(opts.from, opts.src, opts.dst);
      const { cfg, input } = await loadPlanInput('trace', opts, cmd);
      const mode = cfg.mode as string;
      if (!(PLANNED_MODES as readonly string[]).includes(mode)) throw new TraceInputError(`trace: --mode must be one of ${PLANNED_MODES.join(', ')}, not "${mode}"`);
      const planned = reportOutcomes(tracePlan(mode as PlannedMode, input, query));
      let report: TraceReport;
      if (opts.live === true) {
        const live = reportOutcomes(await traceLive(mode as PlannedMode, input, query, { iptablesBackend: cfg.iptablesBackend, ebpfPinRoot: cfg.ebpfPinRoot }));
        report = { mode, traced: 'live', packet: query, outcomes: live, ...explain(input, queryFamily(query), query, live), disagreements: compareOutcomes(planned, live) };
      } else {
        report = { mode, traced: 'plan', packet: query, outcomes: planned, ...explain(input, queryFamily(query), query, planned) };
      }
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    });
}
