// What the repository says about itself must be backed by the code: no cited
// file that is not in the repository (or that names one machine's path), no
// tool installed and named that the agent never runs, and no kernel setting
// the deploy files say the agent writes that it does not.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROUTE_LOCALNET } from '../src/backends/iptables/iptables-backend.js';
import { IPVS_SYSCTLS } from '../src/backends/ipvs/ipvs-backend.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', '.git', '.cache', 'build', 'golden', 'fixtures'].includes(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (/\.(ts|mjs|js|md|yaml|yml|sh|service|c|h)$|^(Makefile|Dockerfile|run)$/.test(name)) out.push(path);
  }
  return out;
}

const TEXT = [...['src', 'test', 'deploy', 'scripts', 'bpf', 'docs', 'examples', '.ci'].flatMap((d) => files(join(ROOT, d))), join(ROOT, 'README.md'), join(ROOT, 'Makefile')]
  .filter((f) => f !== SELF)
  .map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }));

/** "file:line: the line" for every line matching `re`. */
function hits(re: RegExp, which: (file: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (const { file, text } of TEXT) {
    if (!which(file)) continue;
    text.split('\n').forEach((line, i) => {
      if (re.test(line)) out.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return out;
}

describe('claims the code backs', () => {
  it('cites no file outside the repository: no .cache design notes, no one machine\'s /work paths', () => {
    expect(hits(/\.cache\/[\w.-]+\.md|\/work\/(shared|wt|main)\b/)).toEqual([]);
  });

  it('runs ipset (IPVS mode\'s sets), so every install list that provides its tools names it', () => {
    // Only the kernel layer spawns it...
    expect(hits(/['"`]ipset['"`]/, (f) => f.startsWith('src/')).map((h) => h.split(':')[0])).toEqual(expect.arrayContaining(['src/kernel/ipset.ts']));
    expect(hits(/['"`]ipset['"`]/, (f) => f.startsWith('src/') && !f.startsWith('src/kernel/') && !f.endsWith('.test.ts'))).toEqual([]);
    // ...and CI, make system-deps and the image install it.
    for (const file of ['.ci/run', 'Makefile', 'deploy/Dockerfile']) expect(hits(/\bipset\b/, (f) => f === file), file).not.toEqual([]);
  });

  it('names in the deploy files only the kernel settings the agent writes', () => {
    const written = new Set([...IPVS_SYSCTLS.map(([name]) => name), ROUTE_LOCALNET]);
    const deployed = hits(/\b(net\.[a-z0-9_.*]+|route_localnet|nf_conntrack_max)\b/, (f) => f.startsWith('deploy/'));
    const named = deployed.flatMap((line) => line.split(': ').slice(1).join(': ').match(/\bnet\.[a-z0-9_.*]+[a-z*]|\broute_localnet\b|\bnf_conntrack_max\b/g) ?? []);
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) {
      const backed = name.endsWith('*') ? [...written].some((w) => w.startsWith(name.slice(0, -1))) : written.has(name);
      expect(backed, `${name} (deploy/) is not a setting the agent writes: ${[...written].join(', ')}`).toBe(true);
    }
  });
});
