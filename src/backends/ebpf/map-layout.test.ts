// The codec's declared layouts against the compiled object's BTF: a field
// moved, resized or renamed in bpf/include/svcplane_lb.h fails here.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../kernel/exec.js';
import { btfMapDefinitions, btfStructLayouts, layoutDifferences, type BtfMapDefinition } from './btf-layout.js';
import { LB4_KEY, MAP_SPECS, STRUCT_LAYOUTS, type StructLayout } from './map-codec.js';
import { MAP_NAMES } from './map-types.js';

const BPF_DIR = fileURLToPath(new URL('../../../bpf', import.meta.url));
const OBJECT = `${BPF_DIR}/build/svcplane_lb.bpf.o`;
const LIBBPF_PIN_BY_NAME = 1;

describe('eBPF map layout (BTF of bpf/build/svcplane_lb.bpf.o)', () => {
  let structs: Map<string, StructLayout>;
  let maps: Map<string, BtfMapDefinition>;

  beforeAll(async () => {
    // make is a no-op when the object is newer than its sources.
    await runChecked('make', ['-s', '-C', BPF_DIR]);
    const { stdout } = await runChecked('bpftool', ['btf', 'dump', 'file', OBJECT, '-j']);
    structs = btfStructLayouts(stdout);
    maps = btfMapDefinitions(stdout);
  });

  it.each(STRUCT_LAYOUTS.map((l) => [l.name, l] as const))('struct %s: size and every field offset', (_name, declared) => {
    expect(layoutDifferences(declared, structs.get(declared.name))).toEqual([]);
  });

  it('notices a moved, missing or extra field', () => {
    const actual = structs.get(LB4_KEY.name);
    const moved = { ...LB4_KEY, offsets: { ...LB4_KEY.offsets, proto: 9, scope: 8 } };
    expect(layoutDifferences(moved, actual)).toEqual([
      'lb4_key.proto: offset 9 declared, 8 in BTF',
      'lb4_key.scope: offset 8 declared, 9 in BTF',
    ]);
    const { pad: _pad, ...withoutPad } = LB4_KEY.offsets;
    expect(layoutDifferences({ ...LB4_KEY, offsets: withoutPad }, actual)).toEqual(['lb4_key.pad: offset none declared, 10 in BTF']);
    expect(layoutDifferences({ ...LB4_KEY, size: 16 }, actual)).toEqual(['lb4_key: size 16 declared, 12 in BTF']);
    expect(layoutDifferences(LB4_KEY, undefined)).toEqual(['struct lb4_key is missing from the BTF']);
  });

  it('defines exactly the maps map-types.ts names', () => {
    expect([...maps.keys()].sort()).toEqual(Object.values(MAP_NAMES).sort());
  });

  it.each(MAP_SPECS.map((s) => [s.name, s] as const))('map %s: type, key/value sizes, limits, pinned by name', (name, spec) => {
    expect(maps.get(name)).toEqual({ ...spec, pinning: LIBBPF_PIN_BY_NAME });
  });
});
