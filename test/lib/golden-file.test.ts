// The golden helpers fail on a missing golden unless recording is asked for.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectGolden } from './iptables-batch.js';
import { UPDATE_GOLDEN_VARIABLE } from './golden-file.js';
import { expectNftGolden } from './nftables-golden-cases.js';

const BATCH = '*nat\n:KUBE-SVC-X - [0:0]\n-A KUBE-SVC-X -j ACCEPT\nCOMMIT\n';
const NFT = 'table ip svcplane {\n}\n';

describe('golden helpers', () => {
  let dir = '';
  let saved: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sp-fixes15-golden-'));
    saved = process.env[UPDATE_GOLDEN_VARIABLE];
    delete process.env[UPDATE_GOLDEN_VARIABLE];
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[UPDATE_GOLDEN_VARIABLE];
    else process.env[UPDATE_GOLDEN_VARIABLE] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, check, text] of [
    ['iptables', expectGolden, BATCH],
    ['nftables', expectNftGolden, NFT],
  ] as const) {
    it(`${name}: a missing golden fails, naming the update variable, and is not written`, () => {
      const path = join(dir, 'sub', `${name}.txt`);
      expect(() => check(path, text)).toThrow(UPDATE_GOLDEN_VARIABLE);
      expect(existsSync(path)).toBe(false);
    });

    it(`${name}: ${UPDATE_GOLDEN_VARIABLE}=1 records the golden, which then compares`, () => {
      const path = join(dir, 'sub', `${name}.txt`);
      process.env[UPDATE_GOLDEN_VARIABLE] = '1';
      check(path, text);
      expect(readFileSync(path, 'utf8').trim()).toBe(text.trim());
      delete process.env[UPDATE_GOLDEN_VARIABLE];
      check(path, text);
    });

    it(`${name}: a different result fails against the recorded golden`, () => {
      const path = join(dir, `${name}.txt`);
      process.env[UPDATE_GOLDEN_VARIABLE] = '1';
      check(path, text);
      delete process.env[UPDATE_GOLDEN_VARIABLE];
      expect(() => check(path, text.replace(/X|svcplane/g, 'Y'))).toThrow();
    });
  }
});
