import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build a throwaway network-namespace test bed, run the agent on the bundled examples in every mode this machine can run, send traffic, tear down')
    .option('--mode <mode>', 'all, or one of iptables, nftables, ipvs, ebpf, userspace', 'all')
    .action(async (opts: { mode: string }) => {
      const [{ runDemo }, { parseDemoModes }] = await Promise.all([import('./demo.js'), import('./demo-modes.js')]);
      await runDemo(parseDemoModes(opts.mode));
    });
}
