// `make bench`: the planner benchmark (pure) and the applied-sync benchmark (root, scratch netns).
// iptables-nft-restore's cost grows with chains x rules in a batch (measured: 6 s for 1,000
// services x 10 endpoints), so the 10,000-service runs use iptables-legacy unless asked.
import { runApplyBench } from './iptables-apply.js';
import { runPlanBench } from './iptables-plan.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const withNft10k = args.includes('--nft-10k');
console.log(`svcplane bench on ${process.platform} ${process.arch}, node ${process.version}`);
runPlanBench(quick ? 1000 : 10_000, 10);
if (quick) {
  await runApplyBench([100, 1000], 10, 'auto');
} else {
  await runApplyBench([1000], 10, 'nft');
  await runApplyBench([1000, 10_000], 10, 'legacy');
  if (withNft10k) await runApplyBench([10_000], 10, 'nft');
}
