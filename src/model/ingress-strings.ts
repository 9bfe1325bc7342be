// The strings of an Ingress that end up in an nginx configuration (hosts,
// paths, regular expressions, rewrite targets), checked here so that nothing
// else can reach the config: each check returns the reason a value is refused.
import { dns1123SubdomainError } from './names.js';

/** Literal paths: RFC 3986 path characters, without nginx metacharacters (`;`, `{`, `}`, `$`, quotes, `\`, `#`, whitespace). */
const LITERAL_PATH = /^\/[A-Za-z0-9\-._~%!&'()*+,=:@/]*$/;
/** Rewrite targets and app roots: the same, plus a query and regex captures `$1`..`$9` (checked apart). */
const TARGET_CHARS = /^[A-Za-z0-9\-._~%!&'()*+,=:@/?]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
export const MAX_PATH_LENGTH = 2048;

export function literalPathError(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path (start with "/")';
  if (path.length > MAX_PATH_LENGTH) return `must be no more than ${MAX_PATH_LENGTH} characters`;
  if (!LITERAL_PATH.test(path)) {
    return "may contain only letters, digits and -._~%!&'()*+,=:@/ (no whitespace, quotes, backslash, ;, {, }, $, # or ?); set nginx.ingress.kubernetes.io/use-regex for a regular expression";
  }
  return undefined;
}

/**
 * A path used as a regular expression (PCRE in nginx). JavaScript's engine stands
 * in for PCRE here (the common syntax is shared); nginx -t catches the rest.
 */
export function regexPathError(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path (start with "/")';
  if (path.length > MAX_PATH_LENGTH) return `must be no more than ${MAX_PATH_LENGTH} characters`;
  if (CONTROL.test(path)) return 'must not contain control characters (newlines, tabs...)';
  try {
    new RegExp(path);
  } catch (err) {
    return `not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`;
  }
  return undefined;
}

/** The number of capture groups a regex path defines (an upper bound for `$N` in a rewrite target). */
export function captureGroups(path: string): number {
  try {
    return (new RegExp(`${path}|`).exec('')?.length ?? 1) - 1;
  } catch {
    return 0;
  }
}

/** nginx.ingress.kubernetes.io/rewrite-target: a path with captures `$1`..`$9`, nothing else from nginx. */
export function rewriteTargetError(target: string): string | undefined {
  if (target === '') return 'must not be empty';
  if (target.length > MAX_PATH_LENGTH) return `must be no more than ${MAX_PATH_LENGTH} characters`;
  const withoutCaptures = target.replace(/\$[1-9]/g, '');
  if (!TARGET_CHARS.test(withoutCaptures)) {
    return "may contain only path characters (letters, digits, -._~%!&'()*+,=:@/?) and captures $1 to $9";
  }
  if (!target.startsWith('/') && !target.startsWith('$')) return 'must start with "/" or a capture';
  return undefined;
}

/** nginx.ingress.kubernetes.io/app-root: a literal absolute path. */
export function appRootError(root: string): string | undefined {
  if (!root.startsWith('/') || root === '/') return 'must be an absolute path other than "/"';
  if (root.length > MAX_PATH_LENGTH) return `must be no more than ${MAX_PATH_LENGTH} characters`;
  return TARGET_CHARS.test(root) ? undefined : "may contain only path characters (letters, digits, -._~%!&'()*+,=:@/?)";
}

/** spec.rules[].host and spec.tls[].hosts[]: a DNS subdomain, optionally `*.` then a subdomain; never an IP. */
export function ingressHostError(host: string): string | undefined {
  const bare = host.startsWith('*.') ? host.slice(2) : host;
  const reason = dns1123SubdomainError(bare);
  if (reason !== undefined) return host.includes('*') && !host.startsWith('*.') ? 'a wildcard must be the whole first label ("*.example.com")' : reason;
  if (/^[0-9.]+$/.test(bare)) return 'must be a DNS name, not an IP address';
  return undefined;
}
