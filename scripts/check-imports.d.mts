// Types of scripts/check-imports.mjs, for test/check-imports.test.ts.
export interface ImportAllowance {
  readonly file: string;
  readonly target: string;
  readonly names: readonly string[];
}
export declare const ALLOWED: readonly ImportAllowance[];
export declare function checkImports(root: string): { violations: string[]; unusedAllowances: ImportAllowance[] };
