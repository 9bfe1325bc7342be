#!/usr/bin/env node
// The backends' import rule, checked: no mode (src/backends/<mode>/) imports another mode
// or src/agent/, and src/backends/common/ imports no mode. What modes share lives in common/.
// Test files beside a mode may import another mode (the equivalence test traces the same
// packets through the iptables and nftables plans), but never agent/.
// Usage: node scripts/check-imports.mjs [--root DIR]; prints each violation, exits 1 on any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Imports allowed as exceptions (none: the policy step moved renderEnv out of the iptables backend). */
/** @type {readonly { file: string, target: string, names: string[] }[]} */
export const ALLOWED = [];

// `import ... from 'x'`, `export ... from 'x'`, `import 'x'`, `import('x')`.
const IMPORT = /(?:\b(?:import|export)\s+(?:type\s+)?([^'"`;]*?)\s*from\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

/** The names a clause imports (`{ a, type B as C }` -> a, B; `* as ns` / a default -> that). */
function importedNames(clause) {
  const braces = /\{([^}]*)\}/.exec(clause);
  const list = braces ? braces[1].split(',') : [clause];
  return list.map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim()).filter((n) => n !== '');
}

/** `src/backends/<part>/...` -> part ('common' or a mode); undefined elsewhere or for src/backends/*.ts. */
function backendPart(rel) {
  const parts = rel.split('/');
  return parts[0] === 'src' && parts[1] === 'backends' && parts.length > 3 ? parts[2] : undefined;
}

/** Every import that breaks the rule, as `file:line: message`, and the allowances no file uses any more. */
export function checkImports(root) {
  const violations = [];
  const used = new Set();
  const backends = join(root, 'src', 'backends');
  for (const file of sourceFiles(backends)) {
    const rel = relative(root, file).split(sep).join('/');
    const own = backendPart(rel);
    if (own === undefined) continue;
    const isTest = /\.test\.[mc]?[jt]s$/.test(rel);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[2];
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec)).split(sep).join('/').replace(/\.(m?)js$/, '.$1ts');
      const line = text.slice(0, m.index).split('\n').length;
      const where = `${rel}:${line}`;
      if (target === 'src/agent' || target.startsWith('src/agent/')) {
        violations.push(`${where}: imports ${spec}: no backend imports agent/`);
        continue;
      }
      const other = backendPart(target);
      if (other === undefined || other === own || other === 'common') continue;
      if (own !== 'common' && isTest) continue;
      const allowance = ALLOWED.find((a) => a.file === rel && a.target === target);
      const names = m[1] === undefined ? ['*'] : importedNames(m[1]);
      if (allowance && names.every((n) => allowance.names.includes(n))) {
        used.add(allowance);
        continue;
      }
      violations.push(`${where}: imports ${spec}: ${own === 'common' ? 'common/ imports no mode' : `the ${own} mode imports the ${other} mode`}; share it through src/backends/common/`);
    }
  }
  return { violations, unusedAllowances: ALLOWED.filter((a) => !used.has(a)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { root: { type: 'string' } } });
  const root = resolve(values.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const { violations, unusedAllowances } = checkImports(root);
  for (const a of unusedAllowances) console.log(`note: ${a.file} no longer imports ${a.target}: remove its entry from ALLOWED`);
  for (const v of violations) console.error(v);
  if (violations.length > 0) process.exit(1);
  console.log('backend imports: ok');
}
