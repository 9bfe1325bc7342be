// Golden files are recorded only on request. A missing golden fails the test:
// re-recording silently would let a test pass on whatever the code produces.
// To record or refresh goldens on purpose, run the tests with
//   SVCPLANE_UPDATE_GOLDEN=1 node_modules/.bin/vitest run <files>
// and review the diff before committing it.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const UPDATE_GOLDEN_VARIABLE = 'SVCPLANE_UPDATE_GOLDEN';

export function updatingGoldens(): boolean {
  return process.env[UPDATE_GOLDEN_VARIABLE] === '1';
}

/**
 * The golden text at path, or undefined after writing `content` there when
 * SVCPLANE_UPDATE_GOLDEN=1. Throws, naming the variable, when the file is
 * missing or unreadable and updating was not asked for.
 */
export function readGolden(path: string, content: string): string | undefined {
  if (updatingGoldens()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`golden file ${path} cannot be read (${reason}); record it with ${UPDATE_GOLDEN_VARIABLE}=1 and review it`);
  }
}
