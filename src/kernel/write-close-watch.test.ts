// What inotify's events say of files, read back from a real inotify instance on a scratch
// directory (no privileges needed).
import { mkdir, mkdtemp, open, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WriteCloseWatch } from './write-close-watch.js';

describe('WriteCloseWatch', () => {
  let dir: string;
  let w: WriteCloseWatch;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'svcp-close-watch-'));
    const opened = WriteCloseWatch.open();
    if (opened === undefined) throw new Error('no inotify on this machine');
    w = opened;
    expect(w.watch(dir)).toBe(true);
  });

  afterEach(async () => {
    w.close();
    await rm(dir, { recursive: true, force: true });
  });

  const at = (name: string): string => path.join(dir, name);

  it('calls a file written and closed, renamed in or deleted "closed", and forgets it once asked', async () => {
    await writeFile(at('a.yaml'), 'x');
    expect(w.state([at('a.yaml')])).toBe('closed');
    expect(w.state([at('a.yaml')])).toBe('unknown'); // forgotten: a later event must speak again
    await writeFile(at('.tmp'), 'y');
    await rename(at('.tmp'), at('b.yaml'));
    await unlink(at('a.yaml'));
    expect(w.state([at('a.yaml'), at('b.yaml')])).toBe('closed');
  });

  it('calls a file open and written to "writing" until its writer closes it', async () => {
    const file = await open(at('c.yaml'), 'w');
    await file.write('half');
    expect(w.state([at('c.yaml')])).toBe('writing');
    await writeFile(at('d.yaml'), 'done');
    expect(w.state([at('d.yaml'), at('c.yaml')])).toBe('writing');
    await file.close();
    expect(w.state([at('d.yaml'), at('c.yaml')])).toBe('closed');
  });

  it('cannot vouch for names it saw no write of (a symlink, an untouched file), nor for unwatched directories', async () => {
    await symlink('/nonexistent', at('link.yaml'));
    expect(w.state([at('link.yaml')])).toBe('unknown');
    expect(w.state([at('never.yaml')])).toBe('unknown');
    await mkdir(at('sub'));
    await writeFile(at('sub/e.yaml'), 'x');
    expect(w.state([at('sub/e.yaml')])).toBe('unknown');
    w.unwatch(dir);
    await writeFile(at('f.yaml'), 'x');
    expect(w.state([at('f.yaml')])).toBe('unknown');
  });
});
