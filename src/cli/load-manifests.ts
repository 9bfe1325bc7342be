// One-shot read of manifests (for `plan` and `validate`): the same ManifestSource the agent
// uses, without watching, so both commands see exactly what `run` would.
import type { ValidationError } from '../model/errors.js';
import { ManifestSource } from '../sources/manifest-source.js';
import type { SourceEvent } from '../sources/source.js';

export interface LoadedManifests {
  readonly events: readonly SourceEvent[];
  readonly errors: readonly ValidationError[];
}

export async function loadManifests(paths: readonly string[], serviceCIDRs?: readonly string[]): Promise<LoadedManifests> {
  const events: SourceEvent[] = [];
  const source = new ManifestSource({ paths: [...paths], ...(serviceCIDRs ? { serviceCIDRs } : {}), watch: false });
  await source.start((batch) => events.push(...batch));
  await source.stop();
  const errors = events.flatMap((e) => (e.type === 'invalid' ? e.errors : []));
  return { events, errors };
}
