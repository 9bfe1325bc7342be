// v1 Secret of type kubernetes.io/tls -> TLSSecret: the certificate and key
// must parse, and the key must be the certificate's. Other Secret types are not
// ours. Errors never quote the data (it is secret).
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { TLSSecret } from './ingress-types.js';
import { dns1123SubdomainError } from './names.js';
import type { Validated } from './validate.js';
import { type FieldErrors, optObject, optString, readMetadata } from './validate-fields.js';

export const SECRET_TYPE_TLS = 'kubernetes.io/tls';

/** True for the Secrets this validator handles; the rest are ignored. */
export function isTLSSecret(raw: Readonly<Record<string, unknown>>): boolean {
  return raw['type'] === SECRET_TYPE_TLS;
}

/** stringData wins over data, as the API server merges them. */
function readEntry(errs: FieldErrors, obj: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const stringData = optObject(errs, obj['stringData'], 'stringData');
  const plain = optString(errs, stringData?.[key], `stringData[${key}]`);
  if (plain !== undefined && plain !== '') return plain;
  const data = optObject(errs, obj['data'], 'data');
  const encoded = optString(errs, data?.[key], `data[${key}]`);
  if (encoded === undefined || encoded === '') {
    errs.add(`data[${key}]`, 'required value');
    return undefined;
  }
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(encoded)) {
    errs.add(`data[${key}]`, 'not valid base64');
    return undefined;
  }
  return Buffer.from(encoded, 'base64').toString('utf8');
}

function namesOf(cert: X509Certificate): string[] {
  const sans = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  if (sans.length > 0) return sans;
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}

export function validateTLSSecret(raw: unknown, source?: string, defaultNamespace = 'default'): Validated<TLSSecret> {
  const meta = readMetadata(raw, { kind: 'Secret', source, defaultNamespace, nameCheck: dns1123SubdomainError });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const certText = readEntry(errs, meta.obj, 'tls.crt');
  const keyText = readEntry(errs, meta.obj, 'tls.key');
  let cert: X509Certificate | undefined;
  let key: KeyObject | undefined;
  if (certText !== undefined) {
    try {
      cert = new X509Certificate(certText);
    } catch {
      errs.add('data[tls.crt]', 'not a PEM-encoded X.509 certificate');
    }
  }
  if (keyText !== undefined) {
    try {
      key = createPrivateKey({ key: keyText, format: 'pem' });
    } catch {
      errs.add('data[tls.key]', 'not a PEM-encoded, unencrypted private key');
    }
  }
  if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
    errs.add('data[tls.key]', 'the private key does not belong to the certificate in tls.crt');
  }
  // Re-encoded from what parsed, so that only certificates and a key reach the files nginx reads.
  let certificatePem = '';
  for (const pem of certText?.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    try {
      certificatePem += new X509Certificate(pem).toString();
    } catch {
      errs.add('data[tls.crt]', 'a certificate of the chain does not parse');
    }
  }
  if (errs.errors.length > 0 || cert === undefined || key === undefined) return { ok: false, errors: errs.errors };
  return {
    ok: true,
    value: {
      namespace: meta.namespace,
      name: meta.name,
      certificatePem,
      keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      dnsNames: namesOf(cert),
      notAfter: cert.validTo,
    },
  };
}
