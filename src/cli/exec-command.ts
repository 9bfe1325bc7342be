// `svcplane exec`: runs a command as a pod's container would run on this node,
// with the pod's service environment and its own /etc/resolv.conf.
import type { Command } from 'commander';
import { containerEnvironment, pickContainer } from '../discovery/container-env.js';
import { readPodFile } from '../discovery/pod-file.js';
import { execInPodNamespaces } from '../kernel/pod-exec.js';
import { loadServices, writeWarnings } from './pod-env-command.js';
import { addNodeDNSOptions, podResolvConf, type NodeDNSFlags } from './resolv-conf-command.js';

interface ExecOptions extends NodeDNSFlags {
  pod: string;
  manifests: string[];
  container?: string;
  netns?: string;
}

export function registerExec(program: Command): void {
  addNodeDNSOptions(
    program
      .command('exec')
      .description("run COMMAND with a pod's service environment and resolv.conf (private mount namespace; root)")
      .requiredOption('--pod <file>', 'a Pod manifest')
      .requiredOption('--manifests <paths...>', 'manifest files or directories (the Services the agent serves)')
      .option('--container <name>', 'the container whose env to use (default: the first)')
      .option('--netns <name>', 'run in this network namespace (an `ip netns` name)')
      .argument('<command...>', 'the command and its arguments, after --'),
  ).action(async (argv: string[], opts: ExecOptions) => {
    const { pod, warnings } = await readPodFile(opts.pod);
    writeWarnings(warnings);
    const container = pickContainer(pod, opts.container);
    const resolvConf = await podResolvConf(pod, opts);
    const podEnv = containerEnvironment(pod, container, await loadServices(opts.manifests));
    // The node's own environment (PATH, HOME...) underneath, as a container image would provide one.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    for (const e of podEnv) env[e.name] = e.value;
    const result = await execInPodNamespaces({ argv, env, resolvConf, ...(opts.netns !== undefined ? { netns: opts.netns } : {}) });
    if (result.signal !== null) {
      // Die of the same signal, so our parent sees what the command's would have.
      process.kill(process.pid, result.signal);
      return;
    }
    process.exitCode = result.code ?? 1;
  });
}
