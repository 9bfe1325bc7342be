// `svcplane resolv-conf`: the /etc/resolv.conf the kubelet would write for a pod.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseHostResolvConf } from '../discovery/host-resolv-conf.js';
import { formatResolvConf, podDNSConfig, type NodeDNSSettings } from '../discovery/pod-dns.js';
import type { Pod } from '../model/pod.js';
import { canonicalIP } from '../model/ip.js';
import { dns1123SubdomainError } from '../model/names.js';
import { readPodFile } from '../discovery/pod-file.js';
import { writeWarnings } from './pod-env-command.js';

export interface NodeDNSFlags {
  clusterDns?: string[];
  clusterDomain: string;
  hostResolvConf: string;
}

/** The DNS flags, named and defaulted as the kubelet's (--cluster-dns, --cluster-domain, --resolv-conf). */
export function addNodeDNSOptions(cmd: Command): Command {
  return cmd
    .option('--cluster-dns <ips...>', 'cluster DNS server IPs (repeatable, or comma-separated)')
    .option('--cluster-domain <domain>', 'the cluster domain', 'cluster.local')
    .option('--host-resolv-conf <file>', "the node's resolv.conf ('' for none, as the kubelet's --resolv-conf=\"\")", '/etc/resolv.conf');
}

export async function nodeDNSSettings(flags: NodeDNSFlags): Promise<NodeDNSSettings> {
  const clusterDNS = (flags.clusterDns ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '').map((v) => {
    const ip = canonicalIP(v);
    if (ip === undefined) throw new Error(`--cluster-dns ${JSON.stringify(v)}: not an IP address`);
    return ip;
  });
  const domain = flags.clusterDomain.endsWith('.') ? flags.clusterDomain.slice(0, -1) : flags.clusterDomain;
  const reason = domain === '' ? undefined : dns1123SubdomainError(domain);
  if (reason !== undefined) throw new Error(`--cluster-domain ${JSON.stringify(flags.clusterDomain)}: ${reason}`);
  const file = flags.hostResolvConf;
  const host = file === '' ? undefined : parseHostResolvConf(await readFile(file, 'utf8'), file);
  return { clusterDNS, clusterDomain: domain, host };
}

/** The pod's resolv.conf text; the kubelet's warnings go to stderr. */
export async function podResolvConf(pod: Pod, flags: NodeDNSFlags): Promise<string> {
  const { config, warnings } = podDNSConfig(pod, await nodeDNSSettings(flags));
  writeWarnings(warnings);
  return formatResolvConf(config);
}

export function registerResolvConf(program: Command): void {
  addNodeDNSOptions(
    program
      .command('resolv-conf')
      .description('print the /etc/resolv.conf the kubelet would write for a pod (dnsPolicy, dnsConfig)')
      .requiredOption('--pod <file>', 'a Pod manifest'),
  ).action(async (opts: NodeDNSFlags & { pod: string }) => {
    const { pod, warnings } = await readPodFile(opts.pod);
    writeWarnings(warnings);
    process.stdout.write(await podResolvConf(pod, opts));
  });
}
