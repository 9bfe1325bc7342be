import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SvcplaneError } from './errors.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = sources(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));
/** Every file but the base's own. */
const others = files.filter((f) => f.path !== 'util/errors.ts');

describe('error codes', () => {
  it('are all SVCPLANE_* and documented', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^SVCPLANE_[A-Z0-9_]+$/);
      expect(meaning.length, code).toBeGreaterThan(10);
    }
  });

  it('each code in the table is thrown by some class (no stale entries)', () => {
    const unused = Object.keys(ERROR_CODES).filter((code) => !others.some((f) => f.text.includes(`'${code}'`)));
    expect(unused).toEqual([]);
  });

  it('every error class in src/ extends SvcplaneError (directly or through another error class)', () => {
    const direct = others.flatMap((f) => [...f.text.matchAll(/class (\w+) extends (?:Error|TypeError|RangeError)\b/g)].map((m) => `${f.path}: ${m[1]}`));
    expect(direct).toEqual([]);
    const errorClasses = others.flatMap((f) => [...f.text.matchAll(/class (\w+Error) extends (\w+)/g)].map((m) => ({ name: m[1], base: m[2], path: f.path })));
    const bases = new Map(errorClasses.map((c) => [c.name, c.base]));
    for (const c of errorClasses) {
      let base = c.base;
      for (let depth = 0; base !== 'SvcplaneError' && depth < 5; depth++) base = bases.get(base as string) ?? 'unknown';
      expect(base, `${c.path}: ${c.name}`).toBe('SvcplaneError');
    }
  });

  it('names an error after its class and keeps the cause', () => {
    class ExampleError extends SvcplaneError {
      override readonly code = 'SVCPLANE_BAD_CONFIG';
    }
    const cause = new Error('root');
    const err = new ExampleError('bad', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ExampleError');
    expect(err.code).toBe('SVCPLANE_BAD_CONFIG');
    expect(err.cause).toBe(cause);
  });
});
