#!/usr/bin/env node
// svcplane's command line. Every command is a thin shell over src/agent and src/backends.
import { Command, CommanderError } from 'commander';
import { registerPlan } from './plan-command.js';
import { registerTrace } from './trace-command.js';
import { registerValidate } from './validate-command.js';
import { registerRun } from './run-command.js';
import { registerCleanup } from './cleanup-command.js';
import { registerDemo } from './demo-command.js';
import { registerBench } from './bench-command.js';
import { registerMaps } from './maps-command.js';
import { registerPodEnv } from './pod-env-command.js';
import { registerResolvConf } from './resolv-conf-command.js';
import { registerExec } from './exec-command.js';
import { registerDns } from './dns-command.js';
import { registerIngress } from './ingress-command.js';

export function buildProgram(): Command {
  const program = new Command('svcplane')
    .description('A Linux service dataplane: programs Kubernetes Services into the kernel (iptables, nftables, IPVS, eBPF, userspace)')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerPlan(program);
  registerTrace(program);
  registerValidate(program);
  registerRun(program);
  registerCleanup(program);
  registerDemo(program);
  registerBench(program);
  registerMaps(program);
  registerPodEnv(program);
  registerResolvConf(program);
  registerExec(program);
  registerDns(program);
  registerIngress(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`svcplane: ${e.message}\n`);
    process.exitCode = 1;
  }
}

await main();
