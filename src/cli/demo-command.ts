import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build a throwaway network-namespace topology, run the agent on the bundled examples, send traffic, tear down')
    .action(async () => {
      const { runDemo } = await import('./demo.js');
      await runDemo();
    });
}
