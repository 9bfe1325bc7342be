// The last gate before a string reaches nginx.conf. Values were validated when
// the objects were read; these functions check again (a renderer bug must not
// become a config injection) and quote for nginx's parser.
import { SvcplaneError } from '../util/errors.js';

export class NginxRenderError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NGINX_RENDER';
  /** `namespace/name` of the Ingress whose value was refused, when known. */
  owner: string | undefined;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A double-quoted nginx string. nginx unescapes `\"`, `\\` (and turns `\n`,
 * `\t`, `\r` into control characters), so every backslash is doubled: a regex's
 * `\d` arrives as `\d`. Control characters are refused outright.
 */
export function quote(value: string): string {
  if (CONTROL.test(value)) throw new NginxRenderError(`refusing to write a control character to nginx.conf: ${JSON.stringify(value)}`);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A bare token (upstream names, hosts): letters, digits and `-._*:[]` only (upstream names use `_`). */
export function token(value: string): string {
  if (!/^[A-Za-z0-9\-._*:[\]]+$/.test(value) || value.includes('..')) throw new NginxRenderError(`refusing an unexpected token in nginx.conf: ${JSON.stringify(value)}`);
  return value;
}

/** A rewrite replacement: nginx interpolates variables there, so only `$1`..`$9` may appear. */
export function rewriteReplacement(value: string): string {
  if (/\$(?![1-9])/.test(value) || /[\s"\\;{}#]/.test(value)) {
    throw new NginxRenderError(`refusing rewrite target ${JSON.stringify(value)}`);
  }
  return quote(value);
}

/** A literal path inside a regular expression: PCRE metacharacters escaped. */
export function regexLiteral(path: string): string {
  return path.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** server_name for a host: exact, or a regex for `*.example.com` (exactly one extra label, as Kubernetes defines it). */
export function serverName(host: string): string {
  if (host.startsWith('*.')) return quote(`~^[^.]+${regexLiteral(host.slice(1))}$`);
  return token(host);
}

/** Text nginx interpolates (return, add_header): a `$` would read a variable, so none may come from users. */
export function withoutVariables(value: string): string {
  if (value.includes('$')) throw new NginxRenderError(`refusing ${JSON.stringify(value)}: "$" would read an nginx variable`);
  return value;
}
