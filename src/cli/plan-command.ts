import type { Command } from 'commander';
import { nodeContextFrom, readConfigFile, resolveConfig } from '../agent/config.js';
import { planFull } from '../backends/iptables/planner.js';
import type { IPFamily } from '../model/types.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { ObjectStore } from '../state/object-store.js';
import { loadManifests } from './load-manifests.js';
import { addNodeOptions, flagsToSettings } from './options.js';
import { formatErrors } from './format.js';

const RESTORE_COMMAND: Record<IPFamily, string> = { IPv4: 'iptables-restore', IPv6: 'ip6tables-restore' };

export function registerPlan(program: Command): void {
  addNodeOptions(program.command('plan'))
    .description('print the rules svcplane would program for the manifests (iptables: an iptables-restore batch) and exit')
    .option('--ip-family <family>', 'IPv4, IPv6 or both (default: every family that has services; IPv4 always)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
      const cfg = resolveConfig(flagsToSettings(opts, (n) => cmd.getOptionValueSource(n) === 'cli'), file);
      if (cfg.mode !== 'iptables') throw new Error(`plan: mode "${cfg.mode}" has no planner yet; use --mode iptables`);
      if (cfg.manifests.length === 0) throw new Error('plan: --manifests is required');
      const { events, errors } = await loadManifests(cfg.manifests, cfg.serviceCIDRs);
      if (errors.length > 0) process.stderr.write(formatErrors(errors, 'skipped'));
      const store = new ObjectStore();
      store.apply(events);
      const ctx = nodeContextFrom(cfg);
      const { state } = new DesiredStateBuilder(ctx).update(store, 'all');
      const wanted = opts.ipFamily === undefined ? undefined : String(opts.ipFamily).toLowerCase();
      const families: IPFamily[] = (['IPv4', 'IPv6'] as const).filter((f) =>
        wanted === undefined ? f === 'IPv4' || state.IPv6.size > 0 : wanted === 'both' || wanted === f.toLowerCase(),
      );
      if (families.length === 0) throw new Error(`plan: --ip-family must be IPv4, IPv6 or both, not "${String(opts.ipFamily)}"`);
      for (const family of families) {
        const plan = planFull(state[family], { family, ctx });
        const out: string[] = [`# ${RESTORE_COMMAND[family]} --noflush input (${family}, ${state[family].size} service ports)`];
        for (const j of plan.jumps) out.push(`# ensured outside the batch: -t ${j.table} -I ${j.chain} ${j.args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`);
        process.stdout.write(out.join('\n') + '\n' + plan.restore);
      }
    });
}
