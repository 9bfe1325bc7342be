// A CommandRunner for the kernel wrappers' unit tests: records every call (program, argv,
// options) and answers from a queue of results, then with success and no output.
import type { CommandResult, CommandRunner, RunOptions } from '../../src/kernel/exec.js';

export interface RecordedCall {
  readonly file: string;
  readonly args: readonly string[];
  readonly opts: RunOptions | undefined;
}

export function recordingRunner(results: Array<Partial<CommandResult>> = []): { run: CommandRunner; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const run: CommandRunner = async (file, args, opts) => {
    calls.push({ file, args, opts });
    const next = results.shift() ?? {};
    return { stdout: next.stdout ?? '', stderr: next.stderr ?? '', code: next.code ?? 0 };
  };
  return { run, calls };
}
