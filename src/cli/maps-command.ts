// `svcplane maps`: the eBPF mode's load-balancer maps as the kernel holds them, decoded.
import type { Command } from 'commander';
import { join } from 'node:path';
import { DEFAULT_PIN_ROOT } from '../backends/ebpf/ebpf-attach.js';
import { dumpMaps, LB_MAP_NAMES, type LbMaps } from '../backends/ebpf/ebpf-maps.js';
import { renderMaps } from '../backends/ebpf/maps-report.js';
import { BpfMap, Libbpf } from '../kernel/bpf/index.js';

export function registerMaps(program: Command): void {
  program
    .command('maps')
    .description('print the eBPF mode\'s services and backends as the kernel holds them (root)')
    .option('--pin-root <dir>', 'where the maps are pinned', DEFAULT_PIN_ROOT)
    .action((opts: { pinRoot: string }) => {
      const lib = Libbpf.open();
      const opened: BpfMap[] = [];
      try {
        const maps = Object.fromEntries(Object.entries(LB_MAP_NAMES).map(([k, name]) => {
          const map = BpfMap.openPinned(lib, join(opts.pinRoot, name));
          opened.push(map);
          return [k, map];
        })) as unknown as LbMaps;
        const { content, undecodable } = dumpMaps(maps);
        process.stdout.write(renderMaps(content));
        if (undecodable > 0) process.stderr.write(`${undecodable} entries could not be decoded\n`);
      } finally {
        for (const m of opened) m.close();
        lib.close();
      }
    });
}
