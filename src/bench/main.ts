// `make bench`: the planners alone (pure, 10,000 services), then a short `svcplane bench`
// over every mode (root; IPVS inside the VM). `svcplane bench --help` runs the full one.
import { pathToFileURL } from 'node:url';
import { renderTables } from './report/table.js';
import { writeReport } from './report/write-report.js';
import { runPlanBench } from './iptables-plan.js';
import { runIpvsPlanBench } from './ipvs-plan.js';
import { runBench } from './run-bench.js';
import { renderIdleTable } from './idle-cpu.js';

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`svcplane bench on ${process.platform} ${process.arch}, node ${process.version}`);
  runPlanBench(10_000, 10);
  runIpvsPlanBench(10_000, 10);
  const report = await runBench({
    modes: ['iptables', 'nftables', 'ipvs', 'ebpf'], services: [10, 1000], endpoints: 10, durationMs: 1000, runs: 2,
    dataPlane: true, vm: true, out: process.stderr, idleWindowMs: 35_000,
  });
  process.stdout.write(renderTables(report));
  process.stdout.write(renderIdleTable(report.idle ?? []));
  for (const f of await writeReport('.cache/bench', report)) console.log(`wrote ${f}`);
}
