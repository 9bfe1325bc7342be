// The backends' import rule (scripts/check-imports.mjs): true of the tree, and able to fail.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkImports as check } from '../scripts/check-imports.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(ROOT, 'scripts', 'check-imports.mjs');

describe('no backend imports another backend or agent/', () => {
  it('holds for this tree', () => {
    expect(check(ROOT).violations).toEqual([]);
  });

  const fixture = mkdtempSync(join(tmpdir(), 'sp-tracecore-imports-'));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (rel: string, text: string): void => {
    mkdirSync(dirname(join(fixture, rel)), { recursive: true });
    writeFileSync(join(fixture, rel), text);
  };
  write('src/backends/backend.ts', "import type { X } from '../state/types.js';\n");
  write('src/backends/common/trace.ts', "import { a } from './address.js';\n");
  write('src/backends/common/bad.ts', "import { b } from '../nftables/names.js';\n");
  write('src/backends/ipvs/ok.ts', "import { c } from '../common/trace.js';\nimport { d } from './own.js';\nimport { e } from '../backend.js';\nimport { f } from '../../kernel/iptables.js';\n");
  write('src/backends/ipvs/bad.ts', "// header\nimport {\n  g,\n  h,\n} from '../iptables/rule-writer.js';\nexport { i } from '../ebpf/maps.js';\nconst j = await import('../nftables/x.js');\n");
  write('src/backends/ipvs/agent.ts', "import type { ProbeResult } from '../../agent/mode-selection.js';\n");
  write('src/backends/nftables/cross.test.ts', "import { tracePacket } from '../iptables/tracer.js';\nimport { k } from '../../agent/agent.js';\n");
  write('src/backends/nftables/planner.ts', "import { renderEnv } from '../iptables/service-rules.js';\n");
  write('src/backends/nftables/base-objects.ts', "import type { RenderEnv, decide } from '../iptables/service-rules.js';\n");

  it('names every import of another mode or agent/, and only those', () => {
    const { violations, unusedAllowances } = check(fixture);
    expect(violations.map((v) => v.split(': ')[0])).toEqual([
      'src/backends/common/bad.ts:1',
      'src/backends/ipvs/agent.ts:1',
      'src/backends/ipvs/bad.ts:2',
      'src/backends/ipvs/bad.ts:6',
      'src/backends/ipvs/bad.ts:7',
      'src/backends/nftables/base-objects.ts:1',
      // Tests may compare two modes, never reach into the agent.
      'src/backends/nftables/cross.test.ts:2',
      // No exceptions are left: what nftables once took from iptables is the policy step's now.
      'src/backends/nftables/planner.ts:1',
    ]);
    expect(violations[2]).toContain('the ipvs mode imports the iptables mode');
    expect(unusedAllowances).toEqual([]);
  });

  it('fails as a command on a violation and passes on this tree', () => {
    expect(() => execFileSync(process.execPath, [SCRIPT, '--root', fixture], { stdio: 'pipe' })).toThrow(/the ipvs mode imports the iptables mode/);
    expect(execFileSync(process.execPath, [SCRIPT, '--root', ROOT], { encoding: 'utf8' })).toContain('backend imports: ok');
  });
});
