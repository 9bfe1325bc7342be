// Mode selection: which backend serves a mode, and how every other mode's leftovers
// are removed at start-up so that switching modes leaves nothing behind.
import type { Logger } from 'pino';
import type { ProxyBackend } from '../backends/backend.js';
import { IptablesBackend } from '../backends/iptables/iptables-backend.js';
import { IpvsBackend } from '../backends/ipvs/ipvs-backend.js';
import { IpvsClient } from '../kernel/netlink/ipvs.js';
import { ipvsProcReader } from '../kernel/ipvs-proc.js';
import { Ipset } from '../kernel/ipset.js';
import { RtnetlinkClient } from '../kernel/netlink/rtnetlink.js';
import { Sysctl } from '../kernel/sysctl.js';
import { Iptables, type IptablesVariant } from '../kernel/iptables.js';
import type { IPFamily } from '../model/types.js';
import type { NodeContext } from '../state/node-context.js';
import { SvcplaneError } from '../util/errors.js';
import type { ProxyMode } from './config.js';
import type { ProbeResult } from '../backends/common/probe-result.js';
import { probeIpvs } from '../backends/ipvs/probe.js';
import { existsSync } from 'node:fs';
import { DEFAULT_PIN_ROOT, defaultObjectPath, interfacesHolding } from '../backends/ebpf/ebpf-attach.js';
import { EbpfBackend, MASQUERADE_FAMILIES, MASQUERADE_TABLE, masqueradeScript, type MasqueradeRule } from '../backends/ebpf/ebpf-backend.js';
import type { EbpfAlgorithm } from '../backends/ebpf/frontends.js';
import { Libbpf, probeBpf } from '../kernel/bpf/index.js';
import { cgroup2Root } from '../kernel/cgroup.js';
import { Nft, NftError } from '../kernel/nft.js';
import { NetlinkError } from '../kernel/netlink/errors.js';
import { NftNetlink } from '../kernel/netlink/nftables.js';
import { NftablesBackend } from '../backends/nftables/nftables-backend.js';
import { CommandNotFoundError, runChecked, runCommand } from '../kernel/exec.js';
import { UserspaceBackend, type UserspaceSettings } from '../backends/userspace/userspace-backend.js';
import { isUserspaceChain } from '../backends/userspace/redirect-rules.js';

/** The modes this build can run (the others are on the way; asking for them falls back, loudly). */
export const IMPLEMENTED_MODES: ReadonlySet<ProxyMode> = new Set(['iptables', 'nftables', 'ipvs', 'ebpf', 'userspace']);

/**
 * Probes a mode for real on this kernel (iptables needs none). The kernel's answer comes first:
 * on a kernel without IPVS, "no IPVS" is the useful reason even while this build lacks the mode.
 */
export async function probeMode(mode: ProxyMode, deps: Pick<BackendDeps, 'ebpf'> = {}): Promise<ProbeResult> {
  if (mode === 'ipvs') {
    const kernel = probeIpvs();
    if (!kernel.ok) return kernel;
  }
  if (mode === 'ebpf') {
    const kernel = probeEbpf(deps);
    if (!kernel.ok) return kernel;
  }
  if (mode === 'nftables') {
    const kernel = await probeNftables();
    if (!kernel.ok) return kernel;
  }
  if (!IMPLEMENTED_MODES.has(mode)) return { ok: false, reason: `mode ${mode} is not available in this build` };
  return { ok: true };
}

export class UnsupportedModeError extends SvcplaneError {
  override readonly code = 'SVCPLANE_MODE_UNAVAILABLE';
}

export interface BackendDeps {
  readonly ctx: NodeContext;
  readonly logger: Logger;
  /** Run kernel commands inside this network namespace (tests, the demo). */
  readonly netns?: string;
  readonly iptablesVariant?: IptablesVariant;
  /** IPVS mode's node-wide scheduler (kube-proxy's --ipvs-scheduler). */
  readonly ipvsScheduler?: string;
  readonly ebpf?: EbpfSettings;
  readonly userspace?: UserspaceSettings;
}

export interface EbpfSettings {
  /** Default: the cgroup2 mount's root. */
  readonly cgroupPath?: string | undefined;
  /** Default (empty): the interfaces holding the node IPs. */
  readonly interfaces?: readonly string[];
  readonly algorithm?: EbpfAlgorithm;
  readonly pinRoot?: string;
}

function ebpfCgroup(settings: EbpfSettings | undefined): string | undefined {
  return settings?.cgroupPath ?? cgroup2Root();
}

/** The BPF syscall, program types and attach points, for real, in a throwaway cgroup. */
function probeEbpf(deps: Pick<BackendDeps, 'ebpf'>): ProbeResult {
  const cgroupRoot = ebpfCgroup(deps.ebpf);
  if (cgroupRoot === undefined) return { ok: false, reason: 'no cgroup2 hierarchy is mounted' };
  let lib: Libbpf;
  try {
    lib = Libbpf.open();
  } catch (err) {
    return { ok: false, reason: `libbpf: ${(err as Error).message}` };
  }
  try {
    const probe = probeBpf(lib, { cgroupRoot });
    if (probe.ok && !existsSync(defaultObjectPath())) return { ok: false, reason: `the BPF object ${defaultObjectPath()} is not built` };
    return probe;
  } finally {
    lib.close();
  }
}

/** nf_tables for real: a throwaway table created and deleted in one transaction. */
async function probeNftables(): Promise<ProbeResult> {
  try {
    await new Nft().apply('add table ip svcplane-probe\ndelete table ip svcplane-probe\n');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `nft: ${(err as Error).message}` };
  }
}

function nftMasquerade(deps: BackendDeps): MasqueradeRule {
  const netns = deps.netns ? { netns: deps.netns } : {};
  return {
    ensure: async () => void (await runChecked('nft', ['-f', '-'], { input: masqueradeScript(), ...netns })),
    remove: async () => {
      for (const family of MASQUERADE_FAMILIES) await runCommand('nft', ['delete', 'table', family, MASQUERADE_TABLE], netns);
    },
  };
}

function ebpfBackend(deps: BackendDeps): EbpfBackend {
  const cgroupPath = ebpfCgroup(deps.ebpf);
  if (cgroupPath === undefined) throw new UnsupportedModeError('eBPF mode needs a cgroup2 hierarchy (none is mounted; see --ebpf-cgroup-path)');
  const wanted = deps.ebpf?.interfaces ?? [];
  return new EbpfBackend({
    ctx: deps.ctx, logger: deps.logger, lib: Libbpf.open(), objectPath: defaultObjectPath(), pinRoot: deps.ebpf?.pinRoot ?? DEFAULT_PIN_ROOT, cgroupPath,
    interfaces: (ctx) => (wanted.length > 0 ? wanted : interfacesHolding(ctx.nodeIPs)),
    algorithm: deps.ebpf?.algorithm ?? 'random', masquerade: nftMasquerade(deps),
  });
}

/** IPv6 is programmed only where the kernel has ip6tables' nat table. */
async function iptablesKernels(deps: BackendDeps): Promise<Partial<Record<IPFamily, Iptables>>> {
  const common = { variant: deps.iptablesVariant ?? 'auto', ...(deps.netns ? { netns: deps.netns } : {}) } as const;
  const v4 = new Iptables({ family: 'IPv4', ...common });
  const v6 = new Iptables({ family: 'IPv6', ...common });
  try {
    await v6.listChains('nat');
    return { IPv4: v4, IPv6: v6 };
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message }, 'ip6tables nat table unavailable: programming IPv4 only');
    return { IPv4: v4 };
  }
}

/**
 * iptables-nft-restore's cost grows with the square of a batch; legacy replaces whole tables per
 * transaction. So full syncs are split into transactions of this many service ports on nf_tables
 * only (measured at 1,000 services x 10 endpoints: 6.3 s as one batch, about 1.5 s per 500).
 */
export const NFT_SERVICES_PER_TRANSACTION = 500;

export async function createBackend(mode: ProxyMode, deps: BackendDeps): Promise<ProxyBackend> {
  switch (mode) {
    case 'iptables': {
      const kernels = await iptablesKernels(deps);
      const nft = deps.iptablesVariant === 'nft' || (deps.iptablesVariant !== 'legacy' && (await (kernels.IPv4 as Iptables).isNfTables()));
      return new IptablesBackend({
        ctx: deps.ctx, kernels, ...(nft ? { servicesPerTransaction: NFT_SERVICES_PER_TRANSACTION, ...nftNetlink(deps) } : {}),
        sysctl: new Sysctl('/proc/sys', deps.netns),
        onSysctl: (name, from, to) => deps.logger.info({ sysctl: name, from, to, why: 'NodePorts on 127.0.0.1 (--iptables-localhost-nodeports)' }, 'set kernel parameter'),
      });
    }
    case 'ipvs':
      return ipvsBackend(deps, await iptablesKernels(deps));
    case 'ebpf':
      return ebpfBackend(deps);
    case 'userspace':
      return userspaceBackend(deps);
    case 'nftables':
      return new NftablesBackend({ ctx: deps.ctx, logger: deps.logger, nft: new Nft(deps.netns ? { netns: deps.netns } : {}), ...nftNetlink(deps) });
    default:
      throw new UnsupportedModeError(`mode "${mode}" is not available in this version of svcplane; use --mode iptables`);
  }
}

/** The nftables mode's tables, only to find or delete them (no netlink socket: no syncs). */
function nftablesTables(deps: BackendDeps): NftablesBackend {
  return new NftablesBackend({ ctx: deps.ctx, logger: deps.logger, nft: new Nft(deps.netns ? { netns: deps.netns } : {}) });
}

/** The netlink writer for partial syncs; without one (a socket refused) they go through nft, slower. */
function nftNetlink(deps: BackendDeps): { netlink?: NftNetlink } {
  try {
    return { netlink: NftNetlink.open(deps.netns ? { netns: `/run/netns/${deps.netns}` } : {}) };
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message }, 'nf_tables netlink socket unavailable; partial syncs go through nft');
    return {};
  }
}

function ipvsBackend(deps: BackendDeps, iptables: Partial<Record<IPFamily, Iptables>>): IpvsBackend {
  const netns = deps.netns ? { netns: `/run/netns/${deps.netns}` } : {};
  return new IpvsBackend({
    ctx: deps.ctx, logger: deps.logger, iptables,
    // The companion rules name the KUBE-LOOP-BACK sets; cleanup without iptables leaves the sets too.
    ...(Object.keys(iptables).length > 0 ? { ipset: new Ipset(deps.netns ? { netns: deps.netns } : {}) } : {}),
    ipvs: IpvsClient.open(netns), rtnl: RtnetlinkClient.open(netns), sysctl: new Sysctl('/proc/sys', deps.netns), readTable: ipvsProcReader(netns),
    ...(deps.ipvsScheduler ? { scheduler: deps.ipvsScheduler } : {}),
  });
}

/** Unprivileged (no redirects): no iptables at all, so no root is needed. */
async function userspaceBackend(deps: BackendDeps, syncs = true): Promise<UserspaceBackend> {
  const kernels = deps.userspace?.noRedirect !== undefined ? {} : await iptablesKernels(deps);
  // On iptables-nft the drift check asks nf_tables' generation first (legacy has none). Not
  // for finding or removing leftovers: no socket is opened for those.
  const v4 = kernels.IPv4;
  const nft = syncs && v4 !== undefined && (deps.iptablesVariant === 'nft' || (deps.iptablesVariant !== 'legacy' && (await v4.isNfTables())));
  const netlink = nft ? nftNetlink(deps).netlink : undefined;
  const generation = netlink === undefined ? {} : { generation: () => netlink.generation() };
  return new UserspaceBackend({ ctx: deps.ctx, logger: deps.logger, kernels, ...deps.userspace, ...generation });
}

/** Whether the iptables mode's own chains (not the base chains IPVS mode shares) are present. */
async function iptablesModeLeftovers(deps: BackendDeps): Promise<boolean> {
  const chains = await (await iptablesKernels(deps)).IPv4?.listChains('nat');
  return [...(chains ?? [])].some((c) => /^KUBE-(SVC|SEP|SVL|EXT|FW)-|^KUBE-NODEPORTS$/.test(c));
}

/** An iptables ruleset of svcplane's (either mode's chains, or IPVS mode's companion base chains). */
async function anyIptablesLeftovers(deps: BackendDeps): Promise<boolean> {
  const chains = await (await iptablesKernels(deps)).IPv4?.listChains('nat');
  return [...(chains ?? [])].some((c) => /^KUBE-/.test(c) && !isUserspaceChain(c));
}

/** IPVS mode's backend; undefined only when the kernel has no IPVS (its generic netlink family is unknown: ENOENT). */
export function ipvsIfPresent(deps: BackendDeps): IpvsBackend | undefined {
  try {
    return ipvsBackend(deps, {});
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoName === 'ENOENT') return undefined; // nothing can be left
    throw err;
  }
}

/** nft's words for a kernel without nf_tables (EPROTONOSUPPORT, EAFNOSUPPORT, EOPNOTSUPP): no table can exist. */
const NO_NF_TABLES = /Protocol not supported|Address family not supported|Operation not supported/;

/**
 * Whether the nftables mode left its tables. Without the nft binary (an iptables-only node)
 * nothing can be checked or removed: said once, not fatal, so that the iptables mode does not
 * depend on nft. Any other nft failure is.
 */
export async function nftablesLeftovers(deps: BackendDeps): Promise<boolean> {
  try {
    return await nftablesTables(deps).hasLeftovers();
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      deps.logger.warn({ err: err.message }, 'nft is not installed: tables the nftables mode may have left cannot be checked');
      return false;
    }
    if (err instanceof NftError && NO_NF_TABLES.test(err.stderr)) return false;
    throw err;
  }
}

/** What another mode may have left, and how to remove it. */
interface Leftovers {
  readonly mode: ProxyMode;
  present(deps: BackendDeps): Promise<boolean>;
  remove(deps: BackendDeps): Promise<void>;
}

const LEFTOVERS: readonly Leftovers[] = [
  // With its iptables companion rules: the iptables mode never adds IPVS mode's INPUT -> KUBE-SERVICES jump.
  { mode: 'ipvs', present: async (d) => (await ipvsIfPresent(d)?.hasLeftovers()) === true, remove: async (d) => ipvsBackend(d, await iptablesKernels(d)).cleanup() },
  { mode: 'nftables', present: nftablesLeftovers, remove: (d) => nftablesTables(d).cleanup() },
  { mode: 'userspace', present: async (d) => (await userspaceBackend(d, false)).hasLeftovers(), remove: async (d) => (await userspaceBackend(d, false)).cleanup() },
  { mode: 'ebpf', present: async (d) => existsSync(d.ebpf?.pinRoot ?? DEFAULT_PIN_ROOT), remove: async (d) => (await createBackend('ebpf', d)).cleanup() },
];

/**
 * Removes what svcplane's other modes left in the kernel, so that a switch of mode on a live
 * node leaves one dataplane. The iptables mode also clears the other iptables variant (legacy
 * and nf_tables rules are separate rulesets, and both would be evaluated).
 */
export async function cleanupOtherModes(mode: ProxyMode, deps: BackendDeps): Promise<void> {
  // Best effort: a leftover that cannot be removed now (another program holding the xtables
  // lock, say) is reported, and the agent goes on serving; exiting would leave the node
  // unprogrammed, and the next start tries again.
  const attempt = async (what: string, remove: () => Promise<void>): Promise<void> => {
    try {
      await remove();
    } catch (err) {
      deps.logger.warn({ leftovers: what, err: err instanceof Error ? err.message : String(err) }, 'could not remove what another mode left; going on without');
    }
  };
  if (mode === 'iptables') {
    const other: IptablesVariant = deps.iptablesVariant === 'legacy' ? 'nft' : 'legacy';
    deps.logger.debug({ variant: other }, 'removing rules left by the other iptables variant');
    await attempt(`iptables-${other}`, async () => (await createBackend('iptables', { ...deps, iptablesVariant: other })).cleanup());
  }
  for (const l of LEFTOVERS) {
    if (l.mode === mode) continue;
    await attempt(l.mode, async () => {
      if (!(await l.present(deps))) return;
      deps.logger.info({ mode: l.mode }, `removing what svcplane's ${l.mode} mode left in the kernel`);
      await l.remove(deps);
    });
  }
  // IPVS mode shares the base chains: only the iptables mode's own chains are leftovers for it.
  await attempt('iptables', async () => {
    if (!(mode === 'ipvs' ? await iptablesModeLeftovers(deps) : mode !== 'iptables' && (await anyIptablesLeftovers(deps)))) return;
    deps.logger.info({ mode: 'iptables' }, 'removing rules left by another svcplane mode');
    await (await createBackend('iptables', deps)).cleanup();
  });
}
