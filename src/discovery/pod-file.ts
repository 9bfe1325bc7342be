// Reads a Pod manifest (`--pod FILE`): the first Pod document of a YAML file,
// split by the same parser the manifest source uses.
import { readFile } from 'node:fs/promises';
import type { ValidationError } from '../model/errors.js';
import type { Pod } from '../model/pod.js';
import { isPodManifest, validatePod } from '../model/pod-validate.js';
import { parseManifest } from '../sources/manifest-parse.js';
import { SvcplaneError } from '../util/errors.js';

export class InvalidPodError extends SvcplaneError {
  override readonly code = 'SVCPLANE_INVALID_POD';
  constructor(
    readonly file: string,
    readonly errors: readonly ValidationError[],
  ) {
    super(errors.length === 0 ? `${file}: no Pod in this file (a document with kind: Pod)` : errors.map((e) => e.message).join('\n'));
  }
}

export interface PodFile {
  readonly pod: Pod;
  readonly warnings: readonly string[];
}

export function podFromText(text: string, file: string): PodFile {
  const parsed = parseManifest(text, file);
  if (!parsed.ok) throw new InvalidPodError(file, [parsed.error]);
  const doc = parsed.documents.find((d) => isPodManifest(d.raw));
  if (!doc) throw new InvalidPodError(file, []);
  const result = validatePod(doc.raw, `${file}:${doc.line}`);
  if (!result.ok) throw new InvalidPodError(file, result.errors);
  return { pod: result.pod, warnings: result.warnings };
}

export async function readPodFile(file: string): Promise<PodFile> {
  return podFromText(await readFile(file, 'utf8'), file);
}
