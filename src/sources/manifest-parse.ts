// Splits one manifest file (multi-document YAML, or JSON, which is YAML too)
// into plain documents with their line numbers.
import { LineCounter, parseAllDocuments } from 'yaml';
import { ValidationError } from '../model/errors.js';

export interface ManifestDocument {
  /** The document as plain data (null for an empty document). */
  readonly raw: unknown;
  /** 1-based line where the document's content starts. */
  readonly line: number;
}

export type ParseResult =
  | { readonly ok: true; readonly documents: readonly ManifestDocument[] }
  | { readonly ok: false; readonly error: ValidationError };

/** Parses `text`; a syntax error anywhere fails the whole file (it may be half-written). */
export function parseManifest(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const fail = (line: number, col: number, message: string): ParseResult => ({
    ok: false,
    error: new ValidationError({ kind: 'File', namespace: '', name: file }, 'yaml', `line ${line}:${col}: ${message}`, `${file}:${line}`),
  });

  const documents: ManifestDocument[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    const error = doc.errors[0];
    if (error !== undefined) {
      const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
      return fail(pos.line, pos.col, firstLine(error.message));
    }
    const start = doc.contents?.range[0] ?? doc.range[0];
    let raw: unknown;
    try {
      raw = doc.toJS();
    } catch (err) {
      // e.g. an alias bomb beyond maxAliasCount.
      const pos = lineCounter.linePos(start);
      return fail(pos.line, pos.col, err instanceof Error ? firstLine(err.message) : String(err));
    }
    if (raw === null || raw === undefined) continue;
    documents.push({ raw, line: lineCounter.linePos(start).line });
  }
  return { ok: true, documents };
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
