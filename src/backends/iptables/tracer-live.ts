// The rules the kernel holds now, for the tracer: an iptables-save dump cut down to the
// chains svcplane owns (KUBE-*) and the built-in chains' jumps into them. Other software's
// rules (a container runtime's, a firewall's) are left out: the trace answers what
// svcplane's rules do, and the tracer knows only the options svcplane writes.
import { applyRestore, emptyRuleset, type Ruleset } from './tracer-parse.js';
import { BUILTIN_CHAINS } from './tracer-model.js';

const OWNED = /^KUBE-/;

/** The owned part of one or more `iptables-save` dumps, as restore text. */
export function ownedSave(save: string): string {
  const out: string[] = [];
  let builtins: readonly string[] = [];
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      const table = line.slice(1);
      builtins = table === 'nat' || table === 'filter' ? BUILTIN_CHAINS[table] : [];
      if (builtins.length > 0) out.push(line);
      continue;
    }
    if (builtins.length === 0) continue;
    if (line === 'COMMIT') {
      out.push(line);
      continue;
    }
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (OWNED.test(name) || builtins.includes(name)) out.push(line.replace(/ \[\d+:\d+\]$/, ''));
      continue;
    }
    const m = /^-A (\S+) .*-j (\S+)/.exec(line);
    if (m === null) continue;
    const [, chain = '', target = ''] = m;
    if (OWNED.test(chain) || (builtins.includes(chain) && OWNED.test(target))) out.push(line);
  }
  return `${out.join('\n')}\n`;
}

/** The ruleset the kernel holds, svcplane's part of it. */
export function parseSaved(save: string): Ruleset {
  return applyRestore(emptyRuleset(), ownedSave(save));
}
