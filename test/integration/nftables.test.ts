// The behaviour suite in nftables mode: svcplane's own `ip svcplane` table, verdict maps,
// element-level partial syncs.
import type { Testbed } from '../../src/testbed/testbed.js';
import { behaviourSuite } from './behaviour-suite.js';

type NftItem = Record<string, Record<string, unknown>>;

/** The table as JSON without handles and without the elements of timed (affinity) sets, which age. */
async function listTable(tb: Testbed): Promise<string> {
  const { stdout } = await tb.exec('node', 'nft', ['-j', 'list', 'table', 'ip', 'svcplane']);
  const items = (JSON.parse(stdout) as { nftables: NftItem[] }).nftables;
  const out: string[] = [];
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0] as [string, Record<string, unknown>];
    if (kind === 'metainfo') continue;
    const { handle: _h, ...rest } = body;
    if ((kind === 'set' || kind === 'map') && 'timeout' in rest) delete rest.elem;
    out.push(`${kind} ${JSON.stringify(rest)}`);
  }
  return out.sort().join('\n');
}

behaviourSuite({
  mode: 'nftables',
  localhostNodePorts: 'refused',
  clusterIPCheck: true,
  ruleMetric: /svcplane_kernel_objects\{mode="nftables",kind="nat"\} [1-9]/,
  snapshot: listTable,
  async breakRules(tb) {
    // Empty the map every cluster IP is looked up in, as an operator might.
    await tb.exec('node', 'nft', ['flush', 'map', 'ip', 'svcplane', 'service-ips']);
  },
});
