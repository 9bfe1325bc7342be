// Flags shared by `plan` and `run`, named as kube-proxy names them.
import { Option, type Command } from 'commander';
import { REQUESTABLE_MODES } from '../agent/config.js';

export function addNodeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--mode <mode>', 'proxy mode (auto: the best this kernel supports; never userspace, which must be asked for)').choices([...REQUESTABLE_MODES]))
    .option('--source <source>', 'files (manifests, the default) or kubernetes (the API server)')
    .option('--manifests <paths...>', 'manifest files or directories of multi-document YAML')
    .option('--kubeconfig <file>', 'kubeconfig for --source kubernetes (default: in-cluster config in a pod, else ~/.kube/config)')
    .option('--master <url>', 'API server URL, overriding the kubeconfig')
    .option('--service-proxy-name <name>', 'serve services labelled service.kubernetes.io/service-proxy-name=<name>')
    .option('--node-name <name>', 'this node\'s name (default: $NODE_NAME, else the hostname)')
    .option('--node-ip <ips>', 'this node\'s IPs, comma-separated (both families allowed)')
    .option('--cluster-cidr <cidrs>', 'pod CIDRs; traffic from outside them to a cluster IP is masqueraded')
    .option('--nodeport-addresses <cidrs>', 'CIDRs whose local addresses accept NodePorts (default: all local addresses)')
    .option('--masquerade-all', 'masquerade all traffic sent to cluster IPs')
    .option('--service-cluster-ip-range <cidrs>', 'ranges for cluster IPs that manifests leave unset (default 10.96.0.0/12,fd00:10:96::/108)')
    .option('--iptables-localhost-nodeports <bool>', 'iptables mode: serve NodePorts on 127.0.0.1 (default true; sets net.ipv4.conf.all.route_localnet=1)')
    .option('--iptables-backend <variant>', 'iptables binaries to drive: auto (the system\'s iptables), nft or legacy')
    .option('--ipvs-scheduler <name>', 'IPVS scheduler: rr (default), wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh')
    .option('--ebpf-cgroup-path <path>', 'eBPF mode: cgroup v2 directory for the socket programs (default: the cgroup2 mount\'s root)')
    .option('--ebpf-interfaces <ifs>', 'eBPF mode: interfaces for the tc NodePort programs, comma-separated (default: those holding the node IPs)')
    .addOption(new Option('--ebpf-lb-algorithm <alg>', 'eBPF mode: backend choice').choices(['random', 'maglev']))
    .option('--ebpf-pin-root <dir>', 'eBPF mode: where maps and links are pinned, on a bpf filesystem (default /sys/fs/bpf/svcplane)')
    .option('--config <file>', 'YAML config file with the same settings (flags win)');
}

/** Commander's camelCase options -> the config's setting names (only those given on the command line). */
export function flagsToSettings(opts: Record<string, unknown>, given: (name: string) => boolean): Record<string, unknown> {
  const map: Record<string, string> = {
    mode: 'mode', source: 'source', kubeconfig: 'kubeconfig', master: 'master', serviceProxyName: 'serviceProxyName', manifests: 'manifests', nodeName: 'nodeName', nodeIp: 'nodeIP', clusterCidr: 'clusterCIDR',
    nodeportAddresses: 'nodePortAddresses', masqueradeAll: 'masqueradeAll', minSyncPeriod: 'minSyncPeriod', syncPeriod: 'syncPeriod',
    healthzBindAddress: 'healthzBindAddress', metricsBindAddress: 'metricsBindAddress', logFormat: 'logFormat', logLevel: 'logLevel',
    serviceClusterIpRange: 'serviceClusterIPRange', iptablesBackend: 'iptablesBackend', iptablesLocalhostNodeports: 'localhostNodePorts', ipvsScheduler: 'ipvsScheduler',
    ebpfCgroupPath: 'ebpfCgroupPath', ebpfInterfaces: 'ebpfInterfaces', ebpfLbAlgorithm: 'ebpfLbAlgorithm', ebpfPinRoot: 'ebpfPinRoot',
  };
  const out: Record<string, unknown> = {};
  for (const [flag, setting] of Object.entries(map)) if (given(flag) && opts[flag] !== undefined) out[setting] = opts[flag];
  return out;
}
