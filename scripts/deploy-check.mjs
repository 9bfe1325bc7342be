#!/usr/bin/env node
// `make deploy-check`: the deployment artefacts in deploy/, checked offline.
//   kubernetes/  every object against the Kubernetes OpenAPI schemas, unknown fields, the
//                kustomization's list, and the DaemonSet's wiring (its embedded config.yaml
//                resolved by svcplane's own parser, with the DaemonSet's args)
//   systemd/     the unit's lint, and config.yaml resolved with the unit's ExecStart flags
//   Dockerfile   a light lint against the build context
// Usage: node scripts/deploy-check.mjs [--deploy DIR] [--context DIR]; exits 1 on any problem.
// Runs on the project's Node 24, which loads the TypeScript checkers by stripping their types;
// the config parser is the built one (dist/), so `make build` comes first.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readConfigFile, resolveConfig } from '../dist/agent/config.js';
import { checkManifestDir, configProblems, settingsFromArgs } from '../test/lib/k8s-manifest-check.ts';
import { execStartArgs, lintDockerfile, lintUnit, parseUnit } from '../test/lib/deploy-file-lint.ts';

// The kernel tools the agent drives (see the Makefile's DEB_PACKAGES).
const IMAGE_PACKAGES = ['iptables', 'nftables', 'conntrack', 'iproute2', 'kmod'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { deploy: { type: 'string' }, context: { type: 'string' } } });
const deploy = resolve(values.deploy ?? join(root, 'deploy'));
const context = resolve(values.context ?? root);
const parser = { readConfigFile, resolveConfig };

const results = [];
const report = (what, problems) => results.push({ what, problems });

const k8s = checkManifestDir(join(deploy, 'kubernetes'), parser);
report(`kubernetes: ${k8s.checked.length} objects (${k8s.checked.map((c) => c.split(': ')[1]).join(', ')})`, k8s.problems);

const unitText = readFileSync(join(deploy, 'systemd', 'svcplane.service'), 'utf8');
report('systemd/svcplane.service', lintUnit(unitText));
// The unit's flags (all but the binary) with the example config, as the unit will run them.
const { command, settings } = settingsFromArgs(execStartArgs(parseUnit(unitText).unit).slice(1));
const configText = readFileSync(join(deploy, 'systemd', 'config.yaml'), 'utf8');
report('systemd/config.yaml with the unit\'s flags', [
  ...(command === 'run' ? [] : [`ExecStart runs "${command}", not "run"`]),
  ...configProblems('systemd/config.yaml', configText, settings, parser).problems,
]);

const ignorePath = join(deploy, 'Dockerfile.dockerignore');
report('Dockerfile', lintDockerfile(readFileSync(join(deploy, 'Dockerfile'), 'utf8'), context, {
  dockerignore: existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : '',
  requiredPackages: IMAGE_PACKAGES,
}));

let failed = 0;
for (const { what, problems } of results) {
  console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${what}`);
  for (const p of problems) console.log(`       ${p}`);
  if (problems.length > 0) failed++;
}
console.log(failed === 0 ? `deploy-check: all ${results.length} checks passed` : `deploy-check: ${failed} of ${results.length} checks failed`);
process.exit(failed === 0 ? 0 : 1);
