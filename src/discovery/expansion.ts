// `$(VAR)` references in a container's env values, expanded as the kubelet does
// (its forked golang expansion package): `$$` is a literal `$`, an undefined or
// unterminated reference stays as written, and no other syntax (`$VAR`, `${VAR}`) counts.

/** Looks a name up; undefined when no variable of that name is defined. */
export type Lookup = (name: string) => string | undefined;

export function expand(input: string, lookup: Lookup): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    // A `$` as the last character is kept as it is.
    if (dollar === -1 || dollar === input.length - 1) {
      out += input.slice(i);
      break;
    }
    out += input.slice(i, dollar);
    const next = input[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '(') {
      const close = input.indexOf(')', dollar + 2);
      if (close === -1) {
        // Unterminated: keep `$(` and read on after it (a later `$(x)` may still close).
        out += '$(';
        i = dollar + 2;
      } else {
        const name = input.slice(dollar + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      // `$x`: the operator and the character after it, both literal.
      const cp = input.codePointAt(dollar + 1) ?? 0;
      const width = cp > 0xffff ? 2 : 1;
      out += input.slice(dollar, dollar + 1 + width);
      i = dollar + 1 + width;
    }
  }
  return out;
}
