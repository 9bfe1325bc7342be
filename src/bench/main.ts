// `make bench`: the planner benchmark (pure) and the applied-sync benchmark (root, scratch netns),
// for both iptables variants (the system's default here is iptables-nft).
import { runApplyBench } from './iptables-apply.js';
import { runPlanBench } from './iptables-plan.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
console.log(`svcplane bench on ${process.platform} ${process.arch}, node ${process.version}`);
runPlanBench(quick ? 1000 : 10_000, 10);
if (quick) {
  await runApplyBench([100, 1000], 10, 'auto');
} else {
  await runApplyBench([1000, 10_000], 10, 'nft');
  await runApplyBench([1000, 10_000], 10, 'legacy');
}
