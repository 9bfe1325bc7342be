// `svcplane pod-env`: the environment the kubelet would give a pod's container,
// from the same manifests (and the same cluster IP allocation) the agent serves.
import { Option, type Command } from 'commander';
import { containerEnvironment, formatEnv, pickContainer } from '../discovery/container-env.js';
import { readPodFile } from '../discovery/pod-file.js';
import { serviceEnvironment } from '../discovery/service-env.js';
import { dns1123LabelError } from '../model/names.js';
import { objectKey, type Service } from '../model/types.js';
import { formatErrors } from './format.js';
import { loadManifests } from './load-manifests.js';

/** The Services of the manifests as the agent holds them (invalid ones reported on stderr and skipped). */
export async function loadServices(paths: readonly string[]): Promise<Service[]> {
  const { events, errors } = await loadManifests(paths);
  if (errors.length > 0) process.stderr.write(formatErrors(errors, 'skipped'));
  const services = new Map<string, Service>();
  for (const e of events) {
    if (e.type === 'service-upsert') services.set(objectKey(e.service.namespace, e.service.name), e.service);
    else if (e.type === 'service-delete') services.delete(objectKey(e.namespace, e.name));
  }
  return [...services.values()];
}

export function writeWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`svcplane: warning: ${w}\n`);
}

interface PodEnvOptions {
  manifests: string[];
  namespace?: string;
  pod?: string;
  container?: string;
  enableServiceLinks?: 'true' | 'false';
}

export function registerPodEnv(program: Command): void {
  program
    .command('pod-env')
    .description("print the service environment variables (KEY=VALUE) the kubelet would give a pod's container")
    .requiredOption('--manifests <paths...>', 'manifest files or directories (the Services the agent serves)')
    .option('--namespace <ns>', "the pod's namespace (without --pod)")
    .option('--pod <file>', 'a Pod manifest: its namespace, enableServiceLinks and container env')
    .option('--container <name>', 'with --pod: the container (default: the first)')
    .addOption(new Option('--enable-service-links <bool>', 'variables for every service of the namespace (default: the pod\'s spec.enableServiceLinks, else true)').choices(['true', 'false']))
    .action(async (opts: PodEnvOptions) => {
      if ((opts.namespace === undefined) === (opts.pod === undefined)) throw new Error('pod-env: give exactly one of --namespace or --pod');
      if (opts.container !== undefined && opts.pod === undefined) throw new Error('pod-env: --container needs --pod');
      const links = opts.enableServiceLinks === undefined ? undefined : opts.enableServiceLinks === 'true';
      if (opts.namespace !== undefined) {
        const reason = dns1123LabelError(opts.namespace);
        if (reason !== undefined) throw new Error(`pod-env: --namespace ${JSON.stringify(opts.namespace)}: ${reason}`);
        const services = await loadServices(opts.manifests);
        process.stdout.write(formatEnv(serviceEnvironment(services, opts.namespace, links ?? true)));
        return;
      }
      const { pod, warnings } = await readPodFile(opts.pod ?? '');
      writeWarnings(warnings);
      const container = pickContainer(pod, opts.container);
      const services = await loadServices(opts.manifests);
      process.stdout.write(formatEnv(containerEnvironment(pod, container, services, links === undefined ? {} : { enableServiceLinks: links })));
    });
}
