import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateObject } from './validate.js';

const TLS = 'test/fixtures/ingress/tls';
const b64 = (file: string): string => readFileSync(`${TLS}/${file}`).toString('base64');

function secret(data: Record<string, string>, type = 'kubernetes.io/tls'): unknown {
  return { apiVersion: 'v1', kind: 'Secret', type, metadata: { name: 'cert', namespace: 'shop' }, data };
}

describe('TLS Secret validation', () => {
  it('reads a certificate and its key, with the names it is valid for', () => {
    const result = validateObject(secret({ 'tls.crt': b64('sslexample.crt'), 'tls.key': b64('sslexample.key') }));
    expect(result.errors).toEqual([]);
    const value = result.objects[0]?.kind === 'Secret' ? result.objects[0].value : undefined;
    expect(value?.dnsNames).toEqual(['sslexample.foo.com']);
    expect(value?.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(value?.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('ignores Secrets of other types', () => {
    expect(validateObject(secret({ password: 'aGk=' }, 'Opaque'))).toEqual({ objects: [], errors: [], ignored: true });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a missing key', { 'tls.crt': b64('sslexample.crt') }, /data\[tls\.key\]: required value/],
    ['text that is not a certificate', { 'tls.crt': Buffer.from('hello').toString('base64'), 'tls.key': b64('sslexample.key') }, /data\[tls\.crt\]: not a PEM-encoded X\.509 certificate/],
    ['a key of another certificate', { 'tls.crt': b64('sslexample.crt'), 'tls.key': b64('other.key') }, /data\[tls\.key\]: the private key does not belong to the certificate/],
    ['invalid base64', { 'tls.crt': '!!!', 'tls.key': b64('other.key') }, /data\[tls\.crt\]: not valid base64/],
  ])('reports %s without quoting the data', (_what, data, reason) => {
    const result = validateObject(secret(data));
    expect(result.objects).toEqual([]);
    const text = result.errors.map((e) => e.message).join('\n');
    expect(text).toMatch(reason);
    expect(text).toMatch(/^Secret shop\/cert: /);
    expect(text).not.toContain('PRIVATE');
  });
});
