import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest-parse.js';

describe('parseManifest', () => {
  it('splits multi-document YAML, skipping empty documents, with content line numbers', () => {
    const text = ['# leading comment', 'kind: Service', 'metadata: {name: a}', '---', '', '---', '# note', 'kind: Node', 'metadata:', '  name: n1', ''].join('\n');
    const result = parseManifest(text, 'f.yaml');
    expect(result).toEqual({
      ok: true,
      documents: [
        { raw: { kind: 'Service', metadata: { name: 'a' } }, line: 2 },
        { raw: { kind: 'Node', metadata: { name: 'n1' } }, line: 8 },
      ],
    });
  });

  it('reads JSON', () => {
    const result = parseManifest('{"kind": "Service", "metadata": {"name": "a"}}', 'f.json');
    expect(result.ok && result.documents.map((d) => d.raw)).toEqual([{ kind: 'Service', metadata: { name: 'a' } }]);
  });

  it('treats an empty file as no documents', () => {
    expect(parseManifest('', 'f.yaml')).toEqual({ ok: true, documents: [] });
  });

  it.each([
    ['an unclosed flow sequence', 'kind: Service\nmetadata:\n  name: [a\n---\nkind: Node\n', 4],
    ['bad indentation', 'kind: Service\nmetadata:\n  name: a\n   bad: x\n', 3],
    ['truncated JSON', '{"kind": "Service",\n "metadata": {"name": "a"', 2],
    ['a duplicate key in a later document', 'kind: Node\n---\nkind: Service\nkind: Node\n', 4],
  ])('fails the whole file on %s, naming file and line', (_what, text, line) => {
    const result = parseManifest(text, '/etc/svc/web.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.ref).toEqual({ kind: 'File', namespace: '', name: '/etc/svc/web.yaml' });
    expect(result.error.field).toBe('yaml');
    expect(result.error.source).toBe(`/etc/svc/web.yaml:${line}`);
    expect(result.error.reason).toMatch(new RegExp(`^line ${line}:\\d+: \\S`));
  });
});
