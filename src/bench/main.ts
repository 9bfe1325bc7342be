// `make bench`: the planner benchmark (pure) and the applied-sync benchmark (root, scratch netns).
import { runApplyBench } from './iptables-apply.js';
import { runPlanBench } from './iptables-plan.js';

const quick = process.argv.includes('--quick');
console.log(`svcplane bench on ${process.platform} ${process.arch}, node ${process.version}`);
runPlanBench(quick ? 1000 : 10_000, 10);
await runApplyBench(quick ? [100, 1000] : [1000, 10_000], 10);
