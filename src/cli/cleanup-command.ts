import type { Command } from 'commander';
import { Option } from 'commander';
import { PROXY_MODES, type ProxyMode } from '../agent/config.js';
import { createLogger } from '../agent/logger.js';
import { createBackend, IMPLEMENTED_MODES } from '../agent/modes.js';
import { notBuiltReason } from '../agent/mode-selection.js';
import { defaultNodeContext } from '../state/node-context.js';
import type { IptablesVariant } from '../kernel/iptables.js';

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description('remove everything svcplane created in the kernel for a mode, and nothing else')
    .addOption(new Option('--mode <mode>', 'proxy mode to clean up').choices([...PROXY_MODES]).default('iptables'))
    .addOption(new Option('--iptables-backend <variant>', 'iptables binaries: auto, nft or legacy').choices(['auto', 'nft', 'legacy']).default('auto'))
    .option('--ebpf-pin-root <dir>', 'eBPF mode: the pin root the agent used (default /sys/fs/bpf/svcplane)')
    .action(async (opts: { mode: ProxyMode; iptablesBackend: IptablesVariant; ebpfPinRoot?: string }) => {
      // A mode this build lacks never programmed anything: nothing to remove.
      if (notBuiltReason(opts.mode, IMPLEMENTED_MODES) !== undefined) {
        process.stdout.write(`svcplane's ${opts.mode} mode is not in this build: it left nothing in the kernel\n`);
        return;
      }
      const logger = createLogger({ format: 'text' });
      const ebpf = opts.ebpfPinRoot === undefined ? {} : { ebpf: { pinRoot: opts.ebpfPinRoot } };
      const backend = await createBackend(opts.mode, { ctx: defaultNodeContext(), logger, iptablesVariant: opts.iptablesBackend, ...ebpf });
      await backend.cleanup();
      process.stdout.write(`removed svcplane's ${opts.mode} rules\n`);
    });
}
