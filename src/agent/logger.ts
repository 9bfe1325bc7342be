import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type LogFormat = 'json' | 'text';
export type { Logger };

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level?: string;
  /** Where lines go; stderr by default so stdout stays for command output. */
  readonly destination?: NodeJS.WritableStream;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Renders pino's JSON lines for people: `12:00:01.123 INFO  synced rules mode=iptables`. */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          out.write(line + '\n');
          continue;
        }
        const time = new Date(Number(rec.time)).toISOString().slice(11, 23);
        const level = (LEVEL_NAMES[Number(rec.level)] ?? String(rec.level)).padEnd(5);
        const fields = Object.entries(rec)
          .filter(([k]) => !SKIP.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(`${time} ${level} ${String(rec.msg ?? '')}${fields ? ' ' + fields : ''}\n`);
      }
      done();
    },
  });
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? process.stderr;
  const stream = opts.format === 'text' ? textStream(dest) : dest;
  return pino({ level: opts.level ?? 'info', base: undefined }, stream);
}
