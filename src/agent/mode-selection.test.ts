import { describe, expect, it } from 'vitest';
import type { ProxyMode } from './config.js';
import { ModeNotBuiltError, selectMode, type ModeProbe } from './mode-selection.js';

const probeOk: ModeProbe = async () => ({ ok: true });
const noIpvs: ModeProbe = async (m) => (m === 'ipvs' ? { ok: false, reason: 'generic netlink family "IPVS" not found (ENOENT): the kernel has no ip_vs module' } : { ok: true });
const built = (...m: ProxyMode[]): Set<ProxyMode> => new Set(['iptables', ...m]);

describe('selectMode', () => {
  it('uses the requested mode when its probe succeeds', async () => {
    expect(await selectMode('ipvs', built('ipvs'), probeOk)).toEqual({ requested: 'ipvs', mode: 'ipvs', fallbacks: [] });
  });

  it('falls back to iptables and says why when the kernel lacks IPVS', async () => {
    const s = await selectMode('ipvs', built('ipvs'), noIpvs);
    expect(s.mode).toBe('iptables');
    expect(s.fallbacks).toEqual([{ mode: 'ipvs', reason: expect.stringMatching(/IPVS.*ENOENT/) }]);
  });

  it('refuses a mode this build does not have, rather than running iptables in its place', async () => {
    const probed: string[] = [];
    const attempt = selectMode('userspace', built('nftables', 'ipvs', 'ebpf'), async (m) => (probed.push(m), { ok: true }));
    await expect(attempt).rejects.toThrow(ModeNotBuiltError);
    await expect(selectMode('userspace', built('nftables'), probeOk)).rejects.toThrow(/mode userspace is not in this build.*auto, iptables, nftables/);
    expect(probed).toEqual([]);
    expect(new ModeNotBuiltError('x').code).toBe('SVCPLANE_MODE_NOT_BUILT');
  });

  it('auto takes the best mode that works, skipping unbuilt ones quietly', async () => {
    expect((await selectMode('auto', built('ipvs'), probeOk)).mode).toBe('ipvs');
    const s = await selectMode('auto', built('ipvs'), noIpvs);
    expect(s).toMatchObject({ requested: 'auto', mode: 'iptables', fallbacks: [{ mode: 'ipvs' }] });
    expect((await selectMode('auto', built(), probeOk)).fallbacks).toEqual([]);
  });

  it('auto never picks userspace, even when every other mode fails; asked for, it runs', async () => {
    const onlyUserspace: ModeProbe = async (m) => (m === 'userspace' ? { ok: true } : { ok: false, reason: 'no' });
    const all = built('ipvs', 'nftables', 'ebpf', 'userspace');
    expect((await selectMode('auto', all, onlyUserspace)).mode).toBe('iptables');
    expect((await selectMode('userspace', all, onlyUserspace)).mode).toBe('userspace');
  });

  it('never probes iptables', async () => {
    const probed: string[] = [];
    await selectMode('iptables', built('ipvs'), async (m) => (probed.push(m), { ok: true }));
    expect(probed).toEqual([]);
  });
});
