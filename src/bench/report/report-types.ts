// The data model of `svcplane bench` results: written by the measurement side, read by the
// report side (tables, charts, results.json). Plain data only, so results.json round-trips.
import type { IdleResult } from '../idle-cpu.js';

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max-min)/median, 0 when median is 0 */
  readonly spread: number;
  readonly samples: readonly number[];
}

/** Microseconds. */
export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly count: number;
}

export interface ControlPlaneResult {
  readonly mode: string;
  readonly services: number;
  readonly endpoints: number;
  readonly fullMs: Stat;
  readonly changeMs?: Stat;
  readonly addMs?: Stat;
  readonly peakRssMB?: Stat;
  /** RSS after the full sync, its garbage collected: what the agent holds between syncs. */
  readonly steadyRssMB?: Stat;
  /** what was sent to the kernel, from the last run: restoreLines, nftBytes, netlinkMessages, mapWrites... */
  readonly sent: {
    readonly full: Readonly<Record<string, number>>;
    readonly change?: Readonly<Record<string, number>>;
    readonly add?: Readonly<Record<string, number>>;
  };
  /** e.g. 'VM (emulated)': figures not comparable with the host's */
  readonly where?: string;
}

/** One run of the data-plane load generator against one target. */
export interface DataPlaneRun {
  readonly tcp: LatencySummary;
  readonly connPerSec: number;
  readonly udp?: LatencySummary;
  readonly reqPerSec?: number;
}

export interface DataPlaneResult {
  readonly mode: string;
  readonly services: number;
  readonly where?: string;
  /** many short TCP connections: connect+first byte latency, per run summaries */
  readonly viaVip: readonly DataPlaneRun[];
  readonly direct: readonly DataPlaneRun[];
}

export interface MachineInfo {
  readonly hostname: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGB: number;
  readonly kernel: string;
  readonly os: string;
  readonly node: string;
  readonly svcplane: string;
  readonly tools: Readonly<Record<string, string>>;
}

export type { IdleResult };

export interface BenchReport {
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly params: {
    readonly modes: readonly string[];
    readonly services: readonly number[];
    readonly endpoints: number;
    readonly durationMs: number;
    readonly runs: number;
  };
  readonly controlPlane: readonly ControlPlaneResult[];
  readonly dataPlane: readonly DataPlaneResult[];
  readonly warnings: readonly string[];
  readonly skipped: readonly { readonly mode: string; readonly reason: string }[];
  /** Idle cost per mode at the largest size (issue 20): absent when not measured. */
  readonly idle?: readonly IdleResult[];
}
