// Error classes with a stable `code`, in the spirit of undici's errors: code
// branches on the class (`instanceof`), logs and metrics name the `code`,
// people read `message`. Every code svcplane can report is in ERROR_CODES, the
// one table that documents them; a class with a code missing from it does not
// compile. Codes are never renamed: logs, alerts and metrics may name them.

export const ERROR_CODES = {
  // configuration and input
  SVCPLANE_BAD_CONFIG: 'a flag or configuration file value is invalid (ConfigError)',
  SVCPLANE_BAD_DURATION: 'a duration string does not parse (DurationError)',
  SVCPLANE_BAD_BIND_ADDRESS: 'a listen address is not ADDR:PORT (BindAddressError)',
  SVCPLANE_MODE_UNAVAILABLE: 'the requested proxy mode cannot run in this build or on this node (UnsupportedModeError)',
  SVCPLANE_MODE_NOT_BUILT: 'the requested proxy mode does not exist in this build yet (ModeNotBuiltError)',
  SVCPLANE_INVALID_OBJECT: 'a Service, EndpointSlice or Node fails validation; that object is skipped (ValidationError)',
  SVCPLANE_INVALID_SERVICE_CIDR: 'a service CIDR given for cluster IP allocation is invalid (InvalidServiceCIDRError)',
  SVCPLANE_INVALID_POD: 'a Pod file given to pod-env, resolv-conf or exec fails validation (InvalidPodError)',
  SVCPLANE_UNKNOWN_CONTAINER: 'no container of that name in the pod (UnknownContainerError)',
  SVCPLANE_HOST_RESOLV_CONF: 'the host resolv.conf cannot be read or parsed (HostResolvConfError)',
  SVCPLANE_POD_EXEC: 'svcplane exec cannot set up the pod\'s namespaces or run the command (PodExecError)',
  SVCPLANE_DNS_UPSTREAM: 'a DNS upstream is not IP[:PORT], or no nameserver can be read from resolv.conf (DnsUpstreamError)',
  SVCPLANE_DNS_LISTEN: 'a DNS listen address is not IP:PORT or cannot be bound (DnsListenError)',
  SVCPLANE_INGRESS_OPTION: 'an ingress flag is invalid (IngressOptionError)',
  SVCPLANE_INGRESS_SYNC: 'the Ingress controller could not program nginx (IngressSyncError)',
  SVCPLANE_NGINX_RENDER: 'an Ingress value cannot be written into nginx\'s config safely; that Ingress is left out (NginxRenderError)',
  SVCPLANE_NGINX: 'nginx failed to start, test or reload its config (NginxError)',
  SVCPLANE_HAPROXY: 'HAProxy (the benchmark\'s peer proxy) failed its config check or to start, or a backend address for its config is invalid (HaproxyError)',
  SVCPLANE_USERSPACE_LISTENER: 'a userspace-mode listener cannot be opened; that service port only (ListenerError)',
  SVCPLANE_HEALTH_CHECK_LISTENER: 'a service health-check node port cannot be listened on; that service only (HealthCheckListenerError)',
  SVCPLANE_USERSPACE_DIAL: 'no endpoint of a service port accepted within kube-proxy\'s dial timeouts (DialError)',
  // sources
  SVCPLANE_MANIFEST_SOURCE: 'the manifests path cannot be read or watched (ManifestSourceError)',
  SVCPLANE_KUBERNETES_API: 'a Kubernetes API request failed (KubernetesApiError)',
  SVCPLANE_KUBERNETES_SOURCE: 'the Kubernetes source cannot list or watch (KubernetesSourceError)',
  SVCPLANE_KUBECONFIG: 'no usable kubeconfig or in-cluster credentials (KubeConfigError)',
  // kernel: child processes
  SVCPLANE_COMMAND_FAILED: 'a kernel tool exited non-zero (CommandError)',
  SVCPLANE_COMMAND_NOT_FOUND: 'a kernel tool is not installed (CommandNotFoundError)',
  SVCPLANE_COMMAND_TIMEOUT: 'a kernel tool outlived its time limit and was killed (CommandTimeoutError)',
  SVCPLANE_IPTABLES_RESTORE_FAILED: 'iptables-restore refused a batch (RestoreError)',
  SVCPLANE_NFT_FAILED: 'nft refused a script or a listing (NftError)',
  SVCPLANE_NFT_BAD_OUTPUT: 'nft printed JSON svcplane cannot read (NftError)',
  SVCPLANE_CONNTRACK_CLEANUP: 'stale conntrack entries of a sync could not all be deleted (ConntrackCleanupError)',
  SVCPLANE_CONNTRACK_INVALID_FILTER: 'a conntrack deletion was asked with a bad address or port (ConntrackFilterError)',
  SVCPLANE_SYSCTL: 'a sysctl cannot be read or written (SysctlError)',
  // kernel: system calls, netlink, BPF
  SVCPLANE_SYSCALL: 'a libc call failed with an errno (SyscallError): setns, unshare, opening a namespace file',
  SVCPLANE_NETLINK_ERRNO: 'a netlink request or socket call failed with an errno (NetlinkError)',
  SVCPLANE_NETLINK_DECODE: 'bytes from the kernel do not parse as netlink (NetlinkDecodeError)',
  SVCPLANE_NETLINK_ENCODE: 'a value cannot be encoded into a netlink message (NetlinkEncodeError)',
  SVCPLANE_NETLINK_USAGE: 'the netlink socket API was used the wrong way (NetlinkUsageError)',
  SVCPLANE_BPF_ERRNO: 'a bpf() call or libbpf function failed with an errno (BpfError)',
  SVCPLANE_BPF_LOAD: 'the verifier or libbpf refused the BPF object (BpfLoadError)',
  SVCPLANE_BPF_USAGE: 'the BPF loader was used the wrong way (BpfUsageError)',
  // backends
  SVCPLANE_IPTABLES_FAMILY_MISMATCH: 'the iptables planner was given another family\'s input (IptablesPlanError)',
  SVCPLANE_IPTABLES_TRACE: 'the iptables tracer cannot trace a packet (TracerError)',
  SVCPLANE_IPTABLES_TRACE_PARSE: 'the iptables tracer cannot parse a ruleset (TracerParseError)',
  SVCPLANE_NFTABLES_FAMILY_MISMATCH: 'the nftables planner was given another family\'s input (NftablesPlanError)',
  SVCPLANE_NFT_TRACE: 'the nftables tracer cannot trace a packet (NftTracerError)',
  SVCPLANE_IPSET_FAILED: 'ipset refused a batch or a set could not be destroyed (IpsetError)',
  SVCPLANE_NFT_LIST_PARSE: 'an `nft list table` listing holds a statement svcplane does not write, so it cannot be traced or diffed (NftListParseError)',
  SVCPLANE_TRACE_INPUT: 'svcplane trace or plan --diff was given a packet, mode or option it cannot use (TraceInputError)',
  SVCPLANE_IPVS_APPLY_FAILED: 'IPVS virtual servers or destinations could not be written (IpvsApplyError)',
  SVCPLANE_IPVS_UNKNOWN_SCHEDULER: 'a service asks for a scheduler the kernel lacks; the default is used (IpvsSchedulerError)',
  SVCPLANE_IPVS_VIRTUAL_SERVER_CONFLICT: 'two service ports want one virtual server; the first by key keeps it (IpvsVirtualServerConflictError)',
  SVCPLANE_IPVS_INVALID_CONFIG: 'the node-wide IPVS configuration is invalid (IpvsConfigError)',
  SVCPLANE_IPVS_PROC_TABLE: '/proc/net/ip_vs has a line the IPVS drift check cannot read; the sync is full (IpvsProcTableError)',
  SVCPLANE_EBPF_ATTACH: 'eBPF programs could not be attached (EbpfAttachError)',
  SVCPLANE_EBPF_BTF_FORMAT: 'the BPF object\'s BTF cannot be read (BtfFormatError)',
  SVCPLANE_EBPF_MAP_CODEC: 'a map key or value does not encode or decode (MapCodecError)',
  SVCPLANE_EBPF_MAGLEV_TABLE_SIZE: 'the Maglev table size is not a prime above the backend count (EbpfPlanError)',
  SVCPLANE_EBPF_ID_SPACE_EXHAUSTED: 'no free service or backend id is left (EbpfPlanError)',
  // tools around the agent
  SVCPLANE_DEMO_FAILED: 'the demo could not set up or verify its scenario (DemoError)',
  SVCPLANE_DEMO_INTERRUPTED: 'the demo was interrupted by a signal (control flow inside the demo only)',
  SVCPLANE_BENCH_EMPTY_SAMPLES: 'a benchmark statistic was asked of no samples (EmptySamplesError)',
  SVCPLANE_BENCH_BAD_PERCENTILE: 'a benchmark percentile outside 0-100 (PercentileRangeError)',
  SVCPLANE_BENCH_RESULTS: 'a results.json given to bench --charts-from could not be read or is not one (BenchResultsError)',
  SVCPLANE_VM_SETUP: 'the host lacks something the test VM needs, or a bad VM option (VmSetupError)',
  SVCPLANE_VM_BOOT_FAILED: 'the test VM ended without reporting an exit code (VmBootError)',
  SVCPLANE_VM_TIMEOUT: 'the test VM outlived its time budget (VmTimeoutError)',
  SVCPLANE_TESTBED_CONNECTION_CLOSED: 'a test bed connection closed or timed out (ConnectionClosedError)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The base of every error svcplane throws; each subclass fixes its own `code`. */
export abstract class SvcplaneError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
