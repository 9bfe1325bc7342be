// Light lints of deploy/Dockerfile and deploy/systemd/svcplane.service: no Docker engine or
// hadolint runs here, and systemd-analyze verify wants the installed binary, so these check
// what breaks a build or a start (unknown instructions, missing stages and context files,
// shell-form entrypoints that swallow SIGTERM, malformed unit lines).
//
// Imports no relative modules (see k8s-manifest-check.ts: scripts/deploy-check.mjs loads it
// through Node's type stripping).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface DockerInstruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

const DOCKER_KEYWORDS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** Instructions with their continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let pending: { line: number; parts: string[] } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === undefined && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== undefined && line.trimStart().startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending ??= { line: i + 1, parts: [] };
    pending.parts.push(body.trim());
    if (continued) return;
    const joined = pending.parts.join(' ').trim();
    const m = /^(\S+)\s*(.*)$/.exec(joined);
    out.push({ line: pending.line, keyword: (m?.[1] ?? '').toUpperCase(), args: m?.[2] ?? '' });
    pending = undefined;
  });
  return out;
}

function isExecForm(args: string): boolean {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
}

/** Build-context patterns the Dockerfile's .dockerignore excludes (plain names only). */
function ignoredPaths(dockerignore: string): string[] {
  return dockerignore.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'));
}

/**
 * Problems in a Dockerfile whose build context is `contextDir`. `requiredPackages` must be
 * installed with apt-get in the final stage.
 */
export function lintDockerfile(text: string, contextDir: string, opts: { dockerignore?: string; requiredPackages?: readonly string[] } = {}): string[] {
  const out: string[] = [];
  const ins = parseDockerfile(text);
  const ignored = ignoredPaths(opts.dockerignore ?? '');
  const stages: string[] = [];
  let finalStageStart = -1;
  ins.forEach((x, i) => {
    const at = `line ${x.line}`;
    if (!DOCKER_KEYWORDS.has(x.keyword)) out.push(`${at}: unknown instruction ${x.keyword}`);
    if (stages.length === 0 && x.keyword !== 'FROM' && x.keyword !== 'ARG') out.push(`${at}: ${x.keyword} before the first FROM`);
    if (x.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(x.args);
      if (!m) out.push(`${at}: FROM expects [--platform=P] IMAGE [AS NAME]`);
      else {
        if (!/[:@]/.test(m[1] ?? '') && !stages.includes(m[1] ?? '')) out.push(`${at}: image ${m[1]} has no tag (pin one, not latest)`);
        if (m[2] && stages.includes(m[2])) out.push(`${at}: stage name ${m[2]} used twice`);
        stages.push(m[2] ?? `#${stages.length}`);
      }
      finalStageStart = i;
    }
    if (x.keyword === 'COPY' || x.keyword === 'ADD') {
      const words = x.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      if (paths.length < 2) out.push(`${at}: ${x.keyword} needs a source and a destination`);
      if (from !== undefined && !stages.slice(0, -1).includes(from)) out.push(`${at}: --from=${from} names no earlier stage`);
      if (from === undefined) {
        for (const src of paths.slice(0, -1)) {
          const clean = src.replace(/^\.\/|\/$/g, '');
          if (/[*?[]/.test(clean) || clean === '.') continue;
          if (!existsSync(join(contextDir, clean))) out.push(`${at}: ${src} is not in the build context`);
          if (ignored.some((p) => p.replace(/\/$/, '') === clean)) out.push(`${at}: ${src} is excluded by the .dockerignore`);
        }
      }
    }
    if (x.keyword === 'RUN' && /apt-get\s+install/.test(x.args) && !/apt-get\s+update/.test(x.args)) out.push(`${at}: apt-get install without apt-get update in the same RUN (a cached, stale package list)`);
  });
  if (stages.length === 0) out.push('no FROM');
  const final = ins.slice(finalStageStart);
  const entrypoint = final.filter((x) => x.keyword === 'ENTRYPOINT').pop();
  if (!entrypoint) out.push('the final stage has no ENTRYPOINT');
  else if (!isExecForm(entrypoint.args)) out.push(`line ${entrypoint.line}: ENTRYPOINT must be in exec form (a JSON array), or a shell is PID 1 and keeps SIGTERM from svcplane`);
  for (const cmd of final.filter((x) => x.keyword === 'CMD')) if (!isExecForm(cmd.args)) out.push(`line ${cmd.line}: CMD must be in exec form (a JSON array)`);
  const installed = final.filter((x) => x.keyword === 'RUN').flatMap((x) => [...x.args.matchAll(/apt-get\s+install\s+([^&;|]+)/g)].flatMap((m) => (m[1] ?? '').split(/\s+/)));
  for (const p of opts.requiredPackages ?? []) if (!installed.includes(p)) out.push(`the final stage does not apt-get install ${p}`);
  return out;
}

export type UnitFile = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/** A systemd unit file: section -> key -> values (a key may repeat). */
export function parseUnit(text: string): { unit: UnitFile; problems: string[] } {
  const unit = new Map<string, Map<string, string[]>>();
  const problems: string[] = [];
  let section: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1] ?? '', section);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv) problems.push(`line ${i + 1}: not KEY=VALUE`);
    else if (!section) problems.push(`line ${i + 1}: ${kv[1]} outside a section`);
    else section.set(kv[1] ?? '', [...(section.get(kv[1] ?? '') ?? []), kv[2] ?? '']);
  });
  return { unit, problems };
}

export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** ExecStart split as systemd splits it (whitespace, double or single quotes). */
export function execStartArgs(unit: UnitFile): string[] {
  const line = unitValue(unit, 'Service', 'ExecStart') ?? '';
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

const RESTART_VALUES = new Set(['no', 'always', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'on-watchdog']);

export function lintUnit(text: string): string[] {
  const { unit, problems } = parseUnit(text);
  for (const s of unit.keys()) if (!['Unit', 'Service', 'Install'].includes(s)) problems.push(`unknown section [${s}]`);
  for (const s of ['Unit', 'Service', 'Install']) if (!unit.has(s)) problems.push(`no [${s}] section`);
  const exec = execStartArgs(unit);
  if (exec.length === 0) problems.push('[Service] has no ExecStart');
  else if (!(exec[0] ?? '').startsWith('/')) problems.push(`ExecStart must start with an absolute path, not ${exec[0]}`);
  const restart = unitValue(unit, 'Service', 'Restart');
  if (restart !== undefined && !RESTART_VALUES.has(restart)) problems.push(`Restart=${restart} is not a systemd value`);
  const kill = unitValue(unit, 'Service', 'KillSignal');
  if (kill !== undefined && !/^SIG[A-Z0-9]+$/.test(kill)) problems.push(`KillSignal=${kill} is not a signal name`);
  for (const caps of ['CapabilityBoundingSet', 'AmbientCapabilities']) {
    for (const v of unit.get('Service')?.get(caps) ?? []) for (const c of v.split(/\s+/).filter(Boolean)) if (!/^~?CAP_[A-Z_]+$/.test(c)) problems.push(`${caps}: ${c} is not a capability name`);
  }
  if (!unit.get('Install')?.has('WantedBy')) problems.push('[Install] has no WantedBy, so systemctl enable does nothing');
  return problems;
}
