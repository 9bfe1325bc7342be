// The demo's human-readable output: per-target answer tables with their
// verdict, an excerpt of the programmed nat table, and the agent's log tail.
import type { RequestResult } from '../testbed/traffic.js';
import type { DemoPod, DemoTarget } from './demo-plan.js';

export interface TargetCheck {
  readonly target: DemoTarget;
  readonly rows: readonly { readonly pod: DemoPod; readonly answers: number }[];
  /** Answers from a pod that is not an endpoint of the target, by identity. */
  readonly unexpected: ReadonlyMap<string, number>;
  /** Failed requests by error kind. */
  readonly failures: ReadonlyMap<string, number>;
  /** Why the check failed; empty when it passed. */
  readonly problems: readonly string[];
}

/** Counts who answered; the check passes when every request succeeded and every expected pod answered. */
export function checkTarget(target: DemoTarget, results: readonly RequestResult[]): TargetCheck {
  const answers = new Map<string, number>();
  const failures = new Map<string, number>();
  for (const r of results) {
    if (r.ok) answers.set(r.identity, (answers.get(r.identity) ?? 0) + 1);
    else failures.set(r.error, (failures.get(r.error) ?? 0) + 1);
  }
  const expectedNames = new Set(target.expected.map((p) => p.name));
  const unexpected = new Map([...answers].filter(([name]) => !expectedNames.has(name)));
  const rows = target.expected.map((pod) => ({ pod, answers: answers.get(pod.name) ?? 0 }));
  const problems: string[] = [];
  if (results.length !== target.count) problems.push(`${results.length} results for ${target.count} requests`);
  const failed = sum(failures.values());
  if (failed > 0) problems.push(`${failed} of ${results.length} requests failed (${formatCounts(failures)})`);
  for (const row of rows) if (row.answers === 0) problems.push(`${row.pod.name} (${row.pod.ip}) never answered`);
  if (unexpected.size > 0) problems.push(`answers from pods that are not endpoints: ${formatCounts(unexpected)}`);
  return { target, rows, unexpected, failures, problems };
}

/** `default/my-service:` -> `default/my-service`; named ports keep their name. */
export function displayService(key: string): string {
  return key.endsWith(':') ? key.slice(0, -1) : key;
}

const SOURCE_LABEL = { node: 'from the node', client: 'from the client namespace, outside the cluster' } as const;

export function renderCheck(check: TargetCheck): string {
  const t = check.target;
  const noun = t.protocol === 'TCP' ? 'connections' : 'queries';
  const lines = [t.title ?? `${displayService(t.service)}  ${t.kind} ${t.ip}:${t.port}/${t.protocol}, ${t.count} ${noun} ${SOURCE_LABEL[t.from]}`];
  const total = check.rows.reduce((n, r) => n + r.answers, 0) + sum(check.unexpected.values());
  const body: string[][] = check.rows.map((r) => [r.pod.name, r.pod.ip, r.pod.nodeName || '-', String(r.answers), share(r.answers, t.count)]);
  for (const [name, n] of check.unexpected) body.push([`${name} (not an endpoint)`, '?', '?', String(n), share(n, t.count)]);
  const failed = sum(check.failures.values());
  body.push(['failed', '', '', String(failed), share(failed, t.count)]);
  lines.push(...renderTable(['pod', 'IP', 'node', 'answers', 'share'], body, ['left', 'left', 'left', 'right', 'right']).map((l) => `  ${l}`));
  lines.push(
    check.problems.length === 0
      ? `  OK: ${total}/${t.count} answered, all ${check.rows.length} endpoints used`
      : check.problems.map((p) => `  FAIL: ${p}`).join('\n'),
  );
  return lines.join('\n');
}

/** How one mode's run went, for the table comparing the modes. */
export interface ModeOutcome {
  readonly mode: string;
  readonly result: 'passed' | 'FAILED' | 'skipped';
  /** Why it was skipped, or what failed. */
  readonly note?: string;
  /** From starting the agent to its first sync. */
  readonly firstSyncMs?: number;
  readonly checks?: readonly TargetCheck[];
  readonly dns?: { readonly answered: number; readonly total: number };
  /** The agent's resident memory once the checks are done. */
  readonly rssMB?: number;
}

function answered(checks: readonly TargetCheck[], kinds: readonly string[]): string {
  const own = checks.filter((c) => kinds.includes(c.target.kind));
  if (own.length === 0) return '-';
  const ok = own.reduce((n, c) => n + c.rows.reduce((m, r) => m + r.answers, 0), 0);
  return `${ok}/${own.reduce((n, c) => n + c.target.count, 0)}`;
}

/** The modes side by side: the same checks, what answered, how long the first sync took, memory. */
export function renderComparison(outcomes: readonly ModeOutcome[]): string[] {
  const rows = outcomes.map((o) => [
    o.mode,
    o.result,
    o.firstSyncMs === undefined ? '-' : `${(o.firstSyncMs / 1000).toFixed(1)} s`,
    o.checks === undefined ? '-' : `${o.checks.filter((c) => c.problems.length === 0).length}/${o.checks.length}`,
    o.checks === undefined ? '-' : answered(o.checks, ['ClusterIP', 'NodePort']),
    o.dns === undefined ? '-' : `${o.dns.answered}/${o.dns.total}`,
    o.checks === undefined ? '-' : answered(o.checks, ['Ingress']),
    o.rssMB === undefined ? '-' : `${Math.round(o.rssMB)} MB`,
  ]);
  const table = renderTable(
    ['mode', 'result', 'first sync', 'checks passed', 'service answers', 'DNS lookups', 'Ingress pages', 'agent RSS'],
    rows,
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const notes = outcomes.filter((o) => o.note !== undefined).map((o) => `${o.mode}: ${o.note}`);
  return [...table, ...(notes.length > 0 ? ['', ...notes] : [])];
}

type Align = 'left' | 'right';

/** A plain aligned table: header, a rule, rows; columns separated by two spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, i) => ((align[i] ?? 'left') === 'right' ? (cells[i] ?? '').padStart(w) : (cells[i] ?? '').padEnd(w)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/**
 * The KUBE-SERVICES rules and the KUBE-SVC/KUBE-SEP chains of one service,
 * found through the rule comments, in iptables-save order. When that exceeds
 * `maxLines`, KUBE-SERVICES is cut down to the service's own rules and the
 * final nodeports rule.
 */
export function rulesExcerpt(iptablesSave: string, service: string, maxLines = 30): string[] {
  const rules = iptablesSave.split('\n').filter((l) => l.startsWith('-A '));
  const chainOf = (l: string): string => l.split(' ')[1] ?? '';
  const jumpOf = (l: string): string | undefined => / -j (\S+)/.exec(l)?.[1];
  const ofService = (l: string): boolean => commentOf(l).startsWith(`${service} `) || commentOf(l) === service || commentOf(l).startsWith(`${service}:`);

  const dispatch = rules.filter((l) => chainOf(l) === 'KUBE-SERVICES');
  const svcChains = new Set(dispatch.filter(ofService).map(jumpOf).filter((j): j is string => j?.startsWith('KUBE-SVC-') ?? false));
  const svcRules = rules.filter((l) => svcChains.has(chainOf(l)));
  const sepChains = new Set(svcRules.map(jumpOf).filter((j): j is string => j?.startsWith('KUBE-SEP-') ?? false));
  const sepRules = rules.filter((l) => sepChains.has(chainOf(l)));

  let head = dispatch;
  if (dispatch.length + svcRules.length + sepRules.length > maxLines) {
    const own = dispatch.filter(ofService);
    const last = dispatch.at(-1);
    const skipped = dispatch.length - own.length - (last && !own.includes(last) ? 1 : 0);
    head = [...own, `# ... ${skipped} rules of other services in KUBE-SERVICES`, ...(last && !own.includes(last) ? [last] : [])];
  }
  return [...head, ...svcRules, ...sepRules];
}

/** The rule's `--comment` text without quotes ('' when none). */
function commentOf(rule: string): string {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(rule);
  return m?.[1] ?? m?.[2] ?? '';
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Pino JSON records as `LEVEL msg key=value ...` lines. */
export function formatLogRecords(records: readonly Readonly<Record<string, unknown>>[]): string[] {
  return records.map((r) => {
    const level = typeof r.level === 'number' ? (LEVELS[r.level] ?? String(r.level)) : '';
    const msg = typeof r.msg === 'string' ? r.msg : '';
    const fields = Object.entries(r)
      .filter(([k]) => !HIDDEN_FIELDS.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return [level, msg, ...fields].filter((s) => s !== '').join(' ');
  });
}

function share(n: number, of: number): string {
  return of === 0 ? '-' : `${((100 * n) / of).toFixed(1)}%`;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function formatCounts(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}
