// `svcplane maps`: the eBPF mode's load-balancer maps as the kernel holds them, decoded,
// and how many entries the programs' own maps (connections, affinity) hold. Every map is
// opened and decoded through the one table of maps (backends/ebpf/map-table.ts).
import type { Command } from 'commander';
import { join } from 'node:path';
import { DEFAULT_PIN_ROOT } from '../backends/ebpf/ebpf-attach.js';
import { countStateMaps, dumpMaps, LB_MAP_KEYS, openMaps, STATE_MAP_KEYS } from '../backends/ebpf/ebpf-maps.js';
import { renderMaps, renderStateMaps } from '../backends/ebpf/maps-report.js';
import { BpfMap, Libbpf } from '../kernel/bpf/index.js';

export function registerMaps(program: Command): void {
  program
    .command('maps')
    .description('print the eBPF mode\'s services and backends as the kernel holds them (root)')
    .option('--pin-root <dir>', 'where the maps are pinned', DEFAULT_PIN_ROOT)
    .action((opts: { pinRoot: string }) => {
      const lib = Libbpf.open();
      const opened: BpfMap[] = [];
      const open = (name: string): BpfMap => {
        const map = BpfMap.openPinned(lib, join(opts.pinRoot, name));
        opened.push(map);
        return map;
      };
      try {
        const { content, undecodable } = dumpMaps(openMaps(LB_MAP_KEYS, open));
        process.stdout.write(renderMaps(content));
        process.stdout.write(renderStateMaps(countStateMaps(openMaps(STATE_MAP_KEYS, open))));
        if (undecodable > 0) process.stderr.write(`${undecodable} entries could not be decoded\n`);
      } finally {
        for (const m of opened) m.close();
        lib.close();
      }
    });
}
