import { describe, expect, it } from 'vitest';
import { CommandError, CommandNotFoundError, CommandTimeoutError, runChecked, runCommand } from './exec.js';

const node = process.execPath;

describe('runCommand', () => {
  it('writes input to stdin and closes it', async () => {
    const result = await runCommand('cat', [], { input: 'line one\nline two\n' });
    expect(result).toEqual({ stdout: 'line one\nline two\n', stderr: '', code: 0 });
  });

  it('gives the child an empty, closed stdin without input', async () => {
    const result = await runCommand('cat', [], { timeoutMs: 5000 });
    expect(result).toEqual({ stdout: '', stderr: '', code: 0 });
  });

  it('collects outputs far larger than execFile buffers', async () => {
    const size = 8 * 1024 * 1024;
    const result = await runCommand(node, ['-e', `process.stdout.write('x'.repeat(${size})); process.stderr.write('e'.repeat(${size}))`]);
    expect(result.stdout.length).toBe(size);
    expect(result.stderr.length).toBe(size);
  });

  it('passes arguments literally, never through a shell', async () => {
    const tricky = ['$(echo pwned)', '`id`', 'a b; rm -rf /', "'\"", '*'];
    const result = await runCommand('printf', ['%s\\n', ...tricky]);
    expect(result.stdout).toBe(tricky.map((a) => `${a}\n`).join(''));
  });

  it('resolves with non-zero exit codes and stderr', async () => {
    const result = await runCommand(node, ['-e', 'process.stderr.write("bad thing"); process.exit(3)']);
    expect(result).toEqual({ stdout: '', stderr: 'bad thing', code: 3 });
  });

  it('reports death by signal as 128 + signal number', async () => {
    const result = await runCommand(node, ['-e', 'process.kill(process.pid, "SIGTERM")']);
    expect(result.code).toBe(128 + 15);
  });

  it('tolerates a child that exits without reading its input', async () => {
    const result = await runCommand('true', [], { input: 'y'.repeat(4 * 1024 * 1024) });
    expect(result.code).toBe(0);
  });

  it('throws CommandNotFoundError naming a missing tool', async () => {
    const err = await runCommand('svcplane-no-such-tool', ['x']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandNotFoundError);
    expect(err).toMatchObject({ code: 'SVCPLANE_COMMAND_NOT_FOUND', file: 'svcplane-no-such-tool' });
    expect(String(err)).toMatch(/svcplane-no-such-tool/);
  });

  it('kills a command that exceeds its timeout', async () => {
    const started = Date.now();
    const err = await runCommand('sleep', ['30'], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect(err).toMatchObject({ code: 'SVCPLANE_COMMAND_TIMEOUT', timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('runChecked', () => {
  it('returns the result on success', async () => {
    expect((await runChecked('echo', ['hi'])).stdout).toBe('hi\n');
  });

  it('throws CommandError carrying file, args, exit code and stderr', async () => {
    const args = ['-e', 'console.error("nope"); process.exit(2)'];
    const err = await runChecked(node, args).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: 'SVCPLANE_COMMAND_FAILED', file: node, args, exitCode: 2, stderr: 'nope\n' });
    expect(String(err)).toMatch(/exited with code 2: nope/);
  });
});
