// Certificate files for nginx: one file per Secret content (certificate chain
// then key, mode 0600), named by the content's hash so that a changed Secret is
// a changed config and nginx reloads it; and the self-signed default certificate.
import { createHash } from 'node:crypto';
import { access, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './exec.js';
import { NginxError } from './nginx-process.js';

export interface CertificateContent {
  readonly certificatePem: string;
  readonly keyPem: string;
}

export const DEFAULT_CERT_FILE = 'default.pem';

export class NginxCertificates {
  constructor(
    private readonly certDir: string,
    private readonly openssl = 'openssl',
  ) {}

  fileName(content: CertificateContent | undefined): string {
    if (content === undefined) return join(this.certDir, DEFAULT_CERT_FILE);
    const hash = createHash('sha256').update(content.certificatePem).update('\0').update(content.keyPem).digest('hex').slice(0, 24);
    return join(this.certDir, `${hash}.pem`);
  }

  /** Generates the default certificate once (kept across restarts). */
  async ensureDefault(): Promise<void> {
    const file = this.fileName(undefined);
    if (await access(file).then(() => true, () => false)) return;
    const keyFile = join(this.certDir, 'default.key.tmp');
    const certFile = join(this.certDir, 'default.crt.tmp');
    const result = await runCommand(this.openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '3650', '-subj', '/O=svcplane/CN=svcplane ingress default certificate',
    ], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new NginxError(`openssl could not generate the default certificate: ${result.stderr.trim()}`);
    const pem = (await readFile(certFile, 'utf8')) + (await readFile(keyFile, 'utf8'));
    await writeFile(`${file}.tmp`, pem, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    await Promise.all([unlink(keyFile), unlink(certFile)]);
  }

  /** Writes the files of `contents` (before the config naming them is checked). */
  async write(contents: readonly CertificateContent[]): Promise<void> {
    for (const c of contents) {
      const file = this.fileName(c);
      if (await access(file).then(() => true, () => false)) continue;
      await writeFile(`${file}.tmp`, c.certificatePem + c.keyPem, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    }
  }

  /** Removes the files no longer named (after nginx runs a config without them). */
  async prune(contents: readonly CertificateContent[]): Promise<void> {
    const wanted = new Set(contents.map((c) => this.fileName(c)));
    for (const name of await readdir(this.certDir)) {
      const file = join(this.certDir, name);
      if (name !== DEFAULT_CERT_FILE && name.endsWith('.pem') && !wanted.has(file)) await unlink(file).catch(() => undefined);
    }
  }
}
