// Label and field selectors as the API server parses them
// (k8s.io/apimachinery/pkg/labels and pkg/fields): comma-separated requirements,
// all of which must hold.

export type Json = Record<string, unknown>;

type LabelRequirement =
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] };

export class SelectorError extends Error {}

/** Splits on commas outside parentheses: `a in (x,y),b` -> [`a in (x,y)`, `b`]. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  return parts.filter((p) => p !== '');
}

function parseLabelRequirement(text: string): LabelRequirement {
  const set = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (set) {
    const values = (set[3] ?? '').split(',').map((v) => v.trim());
    return { op: set[2] === 'in' ? 'in' : 'notin', key: set[1] ?? '', values };
  }
  const neq = /^([^\s!=(),]+)\s*!=\s*([^\s!=(),]*)$/.exec(text);
  if (neq) return { op: 'notin', key: neq[1] ?? '', values: [neq[2] ?? ''] };
  const eq = /^([^\s!=(),]+)\s*==?\s*([^\s!=(),]*)$/.exec(text);
  if (eq) return { op: 'in', key: eq[1] ?? '', values: [eq[2] ?? ''] };
  const notExists = /^!\s*([^\s!=(),]+)$/.exec(text);
  if (notExists) return { op: 'notexists', key: notExists[1] ?? '' };
  if (/^[^\s!=(),]+$/.test(text)) return { op: 'exists', key: text };
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(text)}`);
}

export type ObjectPredicate = (object: Json) => boolean;

function labelsOf(object: Json): Readonly<Record<string, unknown>> {
  const meta = object['metadata'] as Json | undefined;
  const labels = meta?.['labels'];
  return typeof labels === 'object' && labels !== null ? (labels as Json) : {};
}

export function parseLabelSelector(text: string | null): ObjectPredicate {
  if (text === null || text.trim() === '') return () => true;
  const requirements = splitRequirements(text).map(parseLabelRequirement);
  return (object) => {
    const labels = labelsOf(object);
    return requirements.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      const value = labels[r.key];
      switch (r.op) {
        case 'exists':
          return has;
        case 'notexists':
          return !has;
        case 'in':
          return has && r.values.includes(String(value));
        case 'notin':
          return !has || !r.values.includes(String(value));
      }
    });
  };
}

/** The field labels the fixture supports; the real server also answers 400 for others. */
const FIELDS: Readonly<Record<string, (object: Json) => string>> = {
  'metadata.name': (o) => String((o['metadata'] as Json | undefined)?.['name'] ?? ''),
  'metadata.namespace': (o) => String((o['metadata'] as Json | undefined)?.['namespace'] ?? ''),
  /** Secrets' type (the real server has it for Secrets only). */
  type: (o) => String(o['type'] ?? ''),
};

export function parseFieldSelector(text: string | null): ObjectPredicate {
  if (text === null || text.trim() === '') return () => true;
  const checks = splitRequirements(text).map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid field selector: ${JSON.stringify(part)}`);
    const field = m[1] ?? '';
    const read = FIELDS[field];
    if (read === undefined) throw new SelectorError(`field label not supported: ${field}`);
    const want = m[3] ?? '';
    const negate = m[2] === '!=';
    return (o: Json) => (read(o) === want) !== negate;
  });
  return (object) => checks.every((check) => check(object));
}
