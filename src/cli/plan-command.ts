import type { Command } from 'commander';
import { nodeContextFrom, readConfigFile, resolveConfig } from '../agent/config.js';
import type { IPFamily } from '../model/types.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { ObjectStore } from '../state/object-store.js';
import { loadManifests } from './load-manifests.js';
import { addNodeOptions, flagsToSettings } from './options.js';
import { formatErrors } from './format.js';
import { PLANNED_MODES, planText, type PlannedMode } from './plan-modes.js';

export function registerPlan(program: Command): void {
  addNodeOptions(program.command('plan'))
    .description('print what a mode would program for the manifests, in the form its own tool reads (iptables-restore, nft -f, ipvsadm -R, svcplane maps), and exit')
    .option('--ip-family <family>', 'IPv4, IPv6 or both (default: every family that has services; IPv4 always)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
      const cfg = resolveConfig(flagsToSettings(opts, (n) => cmd.getOptionValueSource(n) === 'cli'), file);
      const mode = cfg.mode as string;
      if (!(PLANNED_MODES as readonly string[]).includes(mode)) throw new Error(`plan: --mode must be one of ${PLANNED_MODES.join(', ')}, not "${mode}"`);
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
      process.stdout.write(planText(mode as PlannedMode, { state, ctx, families, ipvsScheduler: cfg.ipvsScheduler, ebpfAlgorithm: cfg.ebpfLbAlgorithm }));
    });
}
