// The newc writer against GNU cpio, which reads what the kernel's initramfs unpacker reads.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioNewc } from './cpio-newc.js';
import { stripModuleSignature } from './initramfs.js';
import { VmSetupError } from './vm-errors.js';

function cpio(args: string[], input: Buffer, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('cpio', args, { cwd, encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

describe('cpioNewc', () => {
  const archive = cpioNewc([
    { path: 'bin', type: 'dir', mode: 0o755 },
    { path: '/bin/tool', type: 'file', mode: 0o750, data: 'odd-length!' },
    { path: 'bin/link', type: 'symlink', mode: 0o777, data: 'tool' },
    { path: 'empty', type: 'file', mode: 0o644 },
    { path: 'dev', type: 'dir', mode: 0o755 },
    { path: 'dev/console', type: 'chardev', mode: 0o600, rdev: [5, 1] },
  ]);
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcp-cpio-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every record 4-byte aligned and ends with the trailer', () => {
    expect(archive.length % 4).toBe(0);
    expect(archive.subarray(0, 6).toString('ascii')).toBe('070701');
    expect(archive.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
  });

  it('lists the entries with their types, modes and device numbers', async () => {
    const listing = (await cpio(['-itv', '--quiet'], archive, dir)).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/)[0])).toEqual([
      'drwxr-xr-x',
      '-rwxr-x---',
      'lrwxrwxrwx',
      '-rw-r--r--',
      'drwxr-xr-x',
      'crw-------',
    ]);
    expect(listing[2]).toMatch(/ bin\/link -> tool$/);
    expect(listing[5]).toMatch(/ 5,\s+1 .* dev\/console$/);
  });

  it('extracts file contents and symlinks byte for byte', async () => {
    await cpio(['-id', '--quiet', '--no-absolute-filenames'], archive, dir);
    expect(await readFile(join(dir, 'bin/tool'), 'utf8')).toBe('odd-length!');
    expect((await stat(join(dir, 'bin/tool'))).mode & 0o777).toBe(0o750);
    expect(await readlink(join(dir, 'bin/link'))).toBe('tool');
    expect((await stat(join(dir, 'empty'))).size).toBe(0);
  });

  it('rejects an empty path', () => {
    expect(() => cpioNewc([{ path: '/', type: 'dir', mode: 0o755 }])).toThrow(VmSetupError);
  });
});

describe('stripModuleSignature', () => {
  const magic = Buffer.from('~Module signature appended~\n', 'ascii');
  const info = Buffer.from([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5]); // sig_len 5, big-endian

  it('drops the signature, its info block and the magic', () => {
    const body = Buffer.from('\x7fELF module body');
    expect(stripModuleSignature(Buffer.concat([body, Buffer.from('SIGNA'), info, magic]))).toEqual(body);
  });

  it('leaves an unsigned module alone', () => {
    const body = Buffer.from('\x7fELF unsigned');
    expect(stripModuleSignature(body)).toBe(body);
  });
});
