// How late a sleeping thread gets a CPU on this machine, measured beside a latency run: a worker
// thread sleeps 1 ms at a time (a futex wait through Atomics.wait, no event loop) and records
// how much later than asked it woke. A server cannot answer faster than its threads are woken,
// so the probe's p99 is the floor under the servers' p99 in the same seconds (on a shared
// 2-vCPU machine, the other sessions' load decides it).
import { Worker } from 'node:worker_threads';
import { percentile } from './dns-perf.js';

export interface WakeupDelay {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** p50/p99/max of lateness samples in ms (the input is not modified). */
export function summarizeWakeups(latenessMs: readonly number[]): WakeupDelay {
  const sorted = [...latenessMs].sort((a, b) => a - b);
  return { samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? NaN };
}

// CommonJS in an eval'd worker: no module to resolve, nothing but the loop.
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const cell = new Int32Array(new SharedArrayBuffer(4));
const out = [];
const end = performance.now() + workerData.ms;
for (let t = performance.now(); t < end; ) {
  Atomics.wait(cell, 0, 0, 1);
  const now = performance.now();
  out.push(Math.max(0, now - t - 1));
  t = now;
}
parentPort.postMessage(out);
`;

/** Samples wake-up lateness for `ms` milliseconds in a thread of its own. */
export function probeWakeups(ms: number): Promise<WakeupDelay> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(PROBE, { eval: true, workerData: { ms } });
    worker.once('message', (lateness: number[]) => resolve(summarizeWakeups(lateness)));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`wake-up probe exited (${code}) without a result`)));
  });
}
