import { describe, expect, it } from 'vitest';
import { encodeTcHook, encodeTcOpts, tcOptsProgId } from './tc.js';
import { returnInsns } from './probe.js';

describe('tc structs', () => {
  it('lays out struct bpf_tc_hook and struct bpf_tc_opts as libbpf 1.x does (x86-64)', () => {
    expect(Buffer.from(encodeTcHook(7, 'egress')).toString('hex')).toBe(
      // sz=24          ifindex=7  attach_point=BPF_TC_EGRESS  parent=0  padding
      '1800000000000000' + '07000000' + '02000000' + '00000000' + '00000000',
    );
    const opts = encodeTcOpts({ progFd: 9, flags: 1, handle: 0x10, priority: 0x20 });
    expect(Buffer.from(opts).toString('hex')).toBe(
      // sz=32          prog_fd    flags      prog_id    handle     priority   padding
      '2000000000000000' + '09000000' + '01000000' + '00000000' + '10000000' + '20000000' + '00000000',
    );
    opts.set([0x2a, 0, 0, 0], 16);
    expect(tcOptsProgId(opts)).toBe(42);
  });
});

describe('probe programs', () => {
  it('encodes `r0 = imm; exit`', () => {
    expect(Buffer.from(returnInsns(1)).toString('hex')).toBe('b700000001000000' + '9500000000000000');
    expect(Buffer.from(returnInsns(-1)).toString('hex')).toBe('b7000000ffffffff' + '9500000000000000');
  });
});
