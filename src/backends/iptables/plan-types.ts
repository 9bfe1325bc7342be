// The planner's inputs and outputs. A plan is pure data: the applier feeds
// `restore` to iptables-restore and ensures `jumps`; the planner never runs
// a command.
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { IptablesTable, JumpRule } from '../../kernel/iptables.js';
import type { RuleBlock } from '../common/rule-writer.js';

// Defined where they are shared (the kernel adapter, the rule writer IPVS mode uses too).
export type { IptablesTable, JumpRule, RuleBlock };

export interface IptablesPlannerOptions {
  readonly family: IPFamily;
  readonly ctx: NodeContext;
}

/** A service port's lines for each shared top-level chain. */
export interface TopLines {
  readonly natServices: RuleBlock;
  readonly natNodePorts: RuleBlock;
  readonly filterServices: RuleBlock;
  readonly filterExternalServices: RuleBlock;
  readonly filterNodePorts: RuleBlock;
  readonly filterFirewall: RuleBlock;
}

export type TopChainId = keyof TopLines;

/** Everything one service port contributes to the ruleset. */
export interface ServiceFragment {
  readonly key: string;
  /**
   * The nat chains this service port owns (SVC, SVL, EXT, FW, SEPs). Their
   * rules are not kept: a partial plan rewrites a changed port's chains whole,
   * as kube-proxy does, and the memo stays small.
   */
  readonly natChains: readonly string[];
  readonly top: TopLines;
  readonly natRuleCount: number;
  readonly filterRuleCount: number;
}

/** What was committed to the kernel by the last successful plan; the planner uses it for partial plans. Opaque to callers, immutable. */
export interface IptablesMemo {
  readonly family: IPFamily;
  /** The NodeContext fields the rules depend on; a partial plan with other options falls back to a full one. */
  readonly optionsKey: string;
  readonly fragments: ReadonlyMap<string, ServiceFragment>;
  /** Keys of `fragments`, sorted: the order of lines in the top-level chains. */
  readonly sortedKeys: readonly string[];
  readonly natRules: number;
  readonly filterRules: number;
}

export interface IptablesPlanStats {
  readonly chainsWritten: number;
  readonly rulesWritten: number;
  readonly chainsDeleted: number;
  /** Total nat rules in the kernel after apply (sync_proxy_rules_iptables_total). */
  readonly natRules: number;
  readonly filterRules: number;
}

export interface IptablesPlan {
  readonly family: IPFamily;
  readonly kind: 'full' | 'partial';
  /** Transactions to apply, in order, before `restore` (a full plan split for iptables-nft; else empty). */
  readonly prelude: readonly string[];
  /** The iptables-restore input (for `--noflush`). */
  readonly restore: string;
  /** Jump rules from built-in chains the applier must ensure. */
  readonly jumps: readonly JumpRule[];
  /** Chains this plan leaves in the kernel, per table (base + per-service), for reconciliation. */
  readonly chains: { readonly nat: ReadonlySet<string>; readonly filter: ReadonlySet<string> };
  readonly stats: IptablesPlanStats;
  /** The memo to keep once this plan was applied successfully. */
  readonly memo: IptablesMemo;
}
