// The plan input `svcplane plan` and `svcplane trace` share: the manifests' desired state
// for the node the flags describe, and the mode settings that shape a plan.
import type { Command } from 'commander';
import { nodeContextFrom, readConfigFile, resolveConfig, type AgentConfig } from '../agent/config.js';
import type { IPFamily } from '../model/types.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import { ObjectStore } from '../state/object-store.js';
import { formatErrors } from './format.js';
import { loadManifests } from './load-manifests.js';
import { flagsToSettings } from './options.js';
import type { PlanInput } from './plan-modes.js';
import { userspaceSettings } from './userspace-options.js';

export async function loadPlanInput(command: string, opts: Record<string, unknown>, cmd: Command): Promise<{ cfg: AgentConfig; input: PlanInput }> {
  const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
  const cfg = resolveConfig(flagsToSettings(opts, (n) => cmd.getOptionValueSource(n) === 'cli'), file);
  if (cfg.manifests.length === 0) throw new Error(`${command}: --manifests is required`);
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
  if (families.length === 0) throw new Error(`${command}: --ip-family must be IPv4, IPv6 or both, not "${String(opts.ipFamily)}"`);
  return { cfg, input: { state, ctx, families, ipvsScheduler: cfg.ipvsScheduler, ebpfAlgorithm: cfg.ebpfLbAlgorithm, userspace: userspaceSettings(opts) } };
}
