import type { Command } from 'commander';
import { loadManifests } from './load-manifests.js';
import { formatErrors } from './format.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check manifests: print each problem (object, field, reason) and exit non-zero if there is any')
    .requiredOption('--manifests <paths...>', 'manifest files or directories')
    .action(async (opts: { manifests: string[] }) => {
      const { events, errors } = await loadManifests(opts.manifests);
      const counts = new Map<string, number>();
      for (const e of events) {
        const kind = e.type === 'service-upsert' ? 'Service' : e.type === 'slice-upsert' ? 'EndpointSlice' : e.type === 'node-upsert' ? 'Node' : undefined;
        if (kind) counts.set(kind, (counts.get(kind) ?? 0) + 1);
      }
      const summary = [...counts].map(([k, n]) => `${n} ${k}${n === 1 ? '' : 's'}`).join(', ') || 'no objects';
      if (errors.length > 0) {
        process.stderr.write(formatErrors(errors));
        process.stderr.write(`${errors.length} problem${errors.length === 1 ? '' : 's'}; valid: ${summary}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`ok: ${summary}\n`);
    });
}
