import type { Command } from 'commander';
import { addNodeOptions } from './options.js';
import { planDiff } from './plan-diff.js';
import { loadPlanInput } from './plan-input.js';
import { PLANNED_MODES, planText, type PlannedMode } from './plan-modes.js';

export function registerPlan(program: Command): void {
  addNodeOptions(program.command('plan'))
    .description('print what a mode would program for the manifests, in the form its own tool reads (iptables-restore, nft -f, ipvsadm -R, svcplane maps, userspace listeners), and exit')
    .option('--ip-family <family>', 'IPv4, IPv6 or both (default: every family that has services; IPv4 always)')
    .option('--diff', 'only what a sync would change against the kernel state of this network namespace (read, never written; root)')
    .option('--userspace-no-redirect', 'userspace mode: listeners only, no redirect rules')
    .option('--userspace-listen-address <ip>', 'userspace mode with --userspace-no-redirect: the listeners\' address (service ports); default 127.0.0.1, kernel-chosen ports')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const { cfg, input } = await loadPlanInput('plan', opts, cmd);
      const mode = cfg.mode as string;
      if (!(PLANNED_MODES as readonly string[]).includes(mode)) throw new Error(`plan: --mode must be one of ${PLANNED_MODES.join(', ')}, not "${mode}"`);
      if (opts.diff === true) {
        process.stdout.write(await planDiff(mode as PlannedMode, input, { iptablesBackend: cfg.iptablesBackend, ebpfPinRoot: cfg.ebpfPinRoot }));
        return;
      }
      process.stdout.write(planText(mode as PlannedMode, input));
    });
}
