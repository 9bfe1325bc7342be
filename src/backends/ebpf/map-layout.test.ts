// The codec's declared layouts and map table against the compiled object's BTF: a field
// moved, resized, renamed or retyped (a __be16 made __u16, a __u32 made int) in
// bpf/include/svcplane_lb.h, or a map whose key or value type changed, fails here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../kernel/exec.js';
import { btfMapDefinitions, btfStructLayouts, layoutDifferences, type BtfMapDefinition, type BtfStruct } from './btf-layout.js';
import { field, pad, type StructLayout } from './map-fields.js';
import { LB4_KEY, LB6_KEY, STRUCT_LAYOUTS } from './map-layout.js';
import { EBPF_MAPS, MAP_SPECS } from './map-table.js';
import { MAP_NAMES } from './map-types.js';

const BPF_DIR = fileURLToPath(new URL('../../../bpf', import.meta.url));
const OBJECT = `${BPF_DIR}/build/svcplane_lb.bpf.o`;
const LIBBPF_PIN_BY_NAME = 1;

async function btfJson(object: string): Promise<string> {
  return (await runChecked('bpftool', ['btf', 'dump', 'file', object, '-j'])).stdout;
}

describe('eBPF map layout (BTF of bpf/build/svcplane_lb.bpf.o)', () => {
  let structs: Map<string, BtfStruct>;
  let maps: Map<string, BtfMapDefinition>;

  beforeAll(async () => {
    // make is a no-op when the object is newer than its sources.
    await runChecked('make', ['-s', '-C', BPF_DIR]);
    const json = await btfJson(OBJECT);
    structs = btfStructLayouts(json);
    maps = btfMapDefinitions(json);
  });

  it.each(STRUCT_LAYOUTS.map((l) => [l.name, l] as const))('struct %s: size, every field offset and C type', (_name, declared) => {
    expect(layoutDifferences(declared, structs.get(declared.name))).toEqual([]);
  });

  it('reads the header\'s types: __be16/__be32 apart from __u16/__u32, arrays with their length', () => {
    expect(structs.get('lb4_key')?.members).toEqual({
      address: { offset: 0, ctype: 'be32' },
      dport: { offset: 4, ctype: 'be16' },
      backend_slot: { offset: 6, ctype: 'u16' },
      proto: { offset: 8, ctype: 'u8' },
      scope: { offset: 9, ctype: 'u8' },
      pad: { offset: 10, ctype: 'u8[2]' },
    });
    expect(structs.get('lb6_key')?.members.address).toEqual({ offset: 0, ctype: 'be32[4]' });
    expect(structs.get('lb4_affinity_key')?.members.client_id).toEqual({ offset: 0, ctype: 'u64' });
  });

  it('notices a moved, missing, extra or retyped field', () => {
    const actual = structs.get(LB4_KEY.name);
    const f = LB4_KEY.fields;
    const moved = { ...LB4_KEY, fields: { ...f, proto: { ...f.proto, offset: 9 }, scope: { ...f.scope, offset: 8 } } };
    expect(layoutDifferences(moved, actual)).toEqual([
      'lb4_key.proto: offset 9 declared, 8 in BTF',
      'lb4_key.scope: offset 8 declared, 9 in BTF',
    ]);
    const { pad: _pad, ...withoutPad } = f;
    expect(layoutDifferences({ ...LB4_KEY, fields: withoutPad }, actual)).toEqual(['lb4_key.pad: offset none declared, 10 in BTF']);
    expect(layoutDifferences({ ...LB4_KEY, fields: { ...f, extra: pad('u8', 12) } }, actual)).toEqual(['lb4_key.extra: offset 12 declared, none in BTF']);
    expect(layoutDifferences({ ...LB4_KEY, size: 16 }, actual)).toEqual(['lb4_key: size 16 declared, 12 in BTF']);
    expect(layoutDifferences(LB4_KEY, undefined)).toEqual(['struct lb4_key is missing from the BTF']);
    // Byte order is part of the type: a port declared host-order, an address as a plain u32.
    const retyped: StructLayout = { ...LB4_KEY, fields: { ...f, dport: field('u16', 4, 'port'), address: field('u32', 0, 'address'), pad: pad('u16', 10) } };
    expect(layoutDifferences(retyped, actual)).toEqual([
      'lb4_key.address: type u32 declared, be32 in BTF',
      'lb4_key.dport: type u16 declared, be16 in BTF',
      'lb4_key.pad: type u16 declared, u8[2] in BTF',
    ]);
    const v4AddressInV6Key: StructLayout = { ...LB6_KEY, fields: { ...LB6_KEY.fields, address: field('ipv4', 0, 'address') } };
    expect(layoutDifferences(v4AddressInV6Key, structs.get(LB6_KEY.name))).toEqual(['lb6_key.address: type be32 declared, be32[4] in BTF']);
  });

  it('defines exactly the maps map-types.ts names, and the table has a row for each', () => {
    expect([...maps.keys()].sort()).toEqual(Object.values(MAP_NAMES).sort());
    expect(Object.keys(EBPF_MAPS).sort()).toEqual(Object.keys(MAP_NAMES).sort());
    expect(Object.entries(EBPF_MAPS).every(([k, def]) => def.name === MAP_NAMES[k as keyof typeof MAP_NAMES])).toBe(true);
  });

  it.each(MAP_SPECS.map((s) => [s.name, s] as const))('map %s: type, key/value types and sizes, limits, pinned by name', (name, spec) => {
    expect(maps.get(name)).toEqual({ ...spec, pinning: LIBBPF_PIN_BY_NAME });
  });
});

describe('BTF member types (a fixture struct compiled with clang)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-codec-btf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells signed from unsigned, network from host order, and names non-integer members (char is signed on BPF)', async () => {
    const source = join(dir, 'types.bpf.c');
    writeFileSync(source, [
      '#include <linux/types.h>',
      'struct inner { __u32 x; };',
      'struct probe { int a; __s16 b; __be16 c; unsigned int d; __be32 e[4]; char f; __u8 g[3]; struct inner h; __be64 i; };',
      'struct probe probe_instance;',
      '',
    ].join('\n'));
    const object = join(dir, 'types.bpf.o');
    await runChecked('clang', ['-g', '-target', 'bpf', '-I', '/usr/include/x86_64-linux-gnu', '-c', source, '-o', object]);
    const probe = btfStructLayouts(await btfJson(object)).get('probe');
    expect(Object.fromEntries(Object.entries(probe?.members ?? {}).map(([k, m]) => [k, m.ctype]))).toEqual({
      a: 's32', b: 's16', c: 'be16', d: 'u32', e: 'be32[4]', f: 's8', g: 'u8[3]', h: 'struct inner', i: 'be64',
    });
  });
});
