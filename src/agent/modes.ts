// Mode selection: which backend serves a mode, and how every other mode's leftovers
// are removed at start-up so that switching modes leaves nothing behind.
import type { Logger } from 'pino';
import type { ProxyBackend } from '../backends/backend.js';
import { IptablesBackend } from '../backends/iptables/iptables-backend.js';
import { IpvsBackend } from '../backends/ipvs/ipvs-backend.js';
import { IpvsClient } from '../kernel/netlink/ipvs.js';
import { RtnetlinkClient } from '../kernel/netlink/rtnetlink.js';
import { Sysctl } from '../kernel/sysctl.js';
import { Iptables, type IptablesVariant } from '../kernel/iptables.js';
import type { IPFamily } from '../model/types.js';
import type { NodeContext } from '../state/node-context.js';
import { SvcplaneError } from '../util/errors.js';
import type { ProxyMode } from './config.js';
import type { ProbeResult } from './mode-selection.js';
import { probeIpvs } from '../backends/ipvs/probe.js';

/** The modes this build can run (the others are on the way; asking for them falls back, loudly). */
export const IMPLEMENTED_MODES: ReadonlySet<ProxyMode> = new Set(['iptables', 'ipvs']);

/**
 * Probes a mode for real on this kernel (iptables needs none). The kernel's answer comes first:
 * on a kernel without IPVS, "no IPVS" is the useful reason even while this build lacks the mode.
 */
export async function probeMode(mode: ProxyMode): Promise<ProbeResult> {
  if (mode === 'ipvs') {
    const kernel = probeIpvs();
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
      return new IptablesBackend({ ctx: deps.ctx, kernels, ...(nft ? { servicesPerTransaction: NFT_SERVICES_PER_TRANSACTION } : {}) });
    }
    case 'ipvs':
      return ipvsBackend(deps, await iptablesKernels(deps));
    default:
      throw new UnsupportedModeError(`mode "${mode}" is not available in this version of svcplane; use --mode iptables`);
  }
}

function ipvsBackend(deps: BackendDeps, iptables: Partial<Record<IPFamily, Iptables>>): IpvsBackend {
  const netns = deps.netns ? { netns: `/run/netns/${deps.netns}` } : {};
  return new IpvsBackend({
    ctx: deps.ctx, logger: deps.logger, iptables,
    ipvs: IpvsClient.open(netns), rtnl: RtnetlinkClient.open(netns), sysctl: new Sysctl('/proc/sys', deps.netns),
    ...(deps.ipvsScheduler ? { scheduler: deps.ipvsScheduler } : {}),
  });
}

/** Whether the iptables mode's own chains (not the base chains IPVS mode shares) are present. */
async function iptablesModeLeftovers(deps: BackendDeps): Promise<boolean> {
  const chains = await (await iptablesKernels(deps)).IPv4?.listChains('nat');
  return [...(chains ?? [])].some((c) => /^KUBE-(SVC|SEP|SVL|EXT|FW)-|^KUBE-NODEPORTS$/.test(c));
}

/**
 * Removes what svcplane's other modes left in the kernel (only iptables exists so far).
 * The iptables mode also clears the other iptables variant: legacy and nf_tables rules are
 * separate rulesets, and both would be evaluated.
 */
export async function cleanupOtherModes(mode: ProxyMode, deps: BackendDeps): Promise<void> {
  if (mode === 'iptables') {
    const other: IptablesVariant = deps.iptablesVariant === 'legacy' ? 'nft' : 'legacy';
    deps.logger.debug({ variant: other }, 'removing rules left by the other iptables variant');
    await (await createBackend('iptables', { ...deps, iptablesVariant: other })).cleanup();
    // IPVS mode's virtual servers and kube-ipvs0, if any; the base chains it shares are ours now.
    let ipvs: IpvsBackend;
    try {
      ipvs = ipvsBackend(deps, {});
    } catch {
      return; // no IPVS in this kernel: nothing can be left
    }
    if (await ipvs.hasLeftovers()) {
      deps.logger.info({ mode: 'ipvs' }, 'removing virtual servers left by svcplane\'s IPVS mode');
      await ipvs.cleanup();
    }
    return;
  }
  // Only on a switch from iptables mode: a restart of IPVS mode must not touch its own chains.
  if (await iptablesModeLeftovers(deps)) {
    deps.logger.info({ mode: 'iptables' }, 'removing rules left by another svcplane mode');
    await (await createBackend('iptables', deps)).cleanup();
  }
}
