// Kernel failures the IPVS backend must not mistake for "not there": only ENODEV means
// kube-ipvs0 is missing, only ESRCH/ENOENT mean a virtual server is gone.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { NetlinkError } from '../../kernel/netlink/errors.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState, StateChanges } from '../../state/types.js';
import { fakeClients, fakeKernel } from './fake-kernel.js';
import { IpvsBackend } from './ipvs-backend.js';

const EPERM = 1;
const ENOBUFS = 105;
const ESRCH = 3;

function port(i: number, endpoints: readonly string[]): ServicePortState {
  const eps: EndpointInfo[] = endpoints.map((ip) => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'n1', zone: undefined }));
  return {
    key: `default/s${i}:http`, namespace: 'default', serviceName: `s${i}`, portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80, clusterIP: `10.96.0.${i}`,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 0, healthCheckNodePort: 0, affinityTimeoutSeconds: 0,
    externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: eps, hasEndpoints: eps.length > 0,
  };
}

const state = (ports: readonly ServicePortState[]): DesiredState => ({ IPv4: new Map(ports.map((p) => [p.key, p])) as FamilyState, IPv6: new Map() });
const changes = (...keys: string[]): StateChanges => ({ IPv4: new Set(keys), IPv6: new Set(), serviceChanges: 0, endpointChanges: keys.length });

function setup() {
  const k = fakeKernel();
  const f = fakeClients(k);
  const rtnl = { ...f.rtnl };
  const ipvs = { ...f.ipvs };
  const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs, rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), gracePeriodMs: 0 });
  return { k, f, rtnl, ipvs, backend };
}

describe('IpvsBackend kernel errors', () => {
  it('a failing kube-ipvs0 lookup (not ENODEV) fails the sync instead of creating the link again', async () => {
    const { f, rtnl, backend } = setup();
    let created = 0;
    rtnl.createDummy = () => void created++;
    rtnl.getLinkIndex = () => {
      throw new NetlinkError(EPERM, { operation: 'RTM_GETLINK kube-ipvs0' });
    };
    await expect(backend.sync(state([port(1, ['10.244.0.1'])]))).rejects.toMatchObject({ errnoName: 'EPERM' });
    expect(created).toBe(0);
    expect(f.link()).toBeUndefined();
  });

  it('ENODEV: kube-ipvs0 is created', async () => {
    const { f, backend } = setup();
    expect(await backend.hasLeftovers()).toBe(false);
    await backend.sync(state([port(1, ['10.244.0.1'])]));
    expect(f.link()).toBe(7);
    expect(await backend.hasLeftovers()).toBe(true);
  });

  it('hasLeftovers and cleanup report a failing lookup rather than "nothing left"', async () => {
    const { rtnl, backend } = setup();
    rtnl.getLinkIndex = () => {
      throw new NetlinkError(ENOBUFS, { operation: 'RTM_GETLINK kube-ipvs0' });
    };
    await expect(backend.hasLeftovers()).rejects.toBeInstanceOf(NetlinkError);
    await expect(backend.cleanup()).rejects.toBeInstanceOf(NetlinkError);
  });

  it('a failure reading destinations fails the partial sync (a real server leaving needs the kernel\'s connection counts)', async () => {
    const { ipvs, backend } = setup();
    const ports = [port(1, ['10.244.0.1']), port(2, ['10.244.1.1'])];
    await backend.sync(state(ports));
    ipvs.getDestinations = () => {
      throw new NetlinkError(ENOBUFS, { operation: 'IPVS_CMD_GET_DEST' });
    };
    const next = [port(1, ['10.244.0.2']), port(2, ['10.244.1.1'])];
    await expect(backend.sync(state(next), changes('default/s1:http'))).rejects.toMatchObject({ errnoName: 'ENOBUFS' });
  });

  it('a virtual server deleted by hand (ESRCH) is created again by a partial sync', async () => {
    const { k, ipvs, backend } = setup();
    await backend.sync(state([port(1, ['10.244.0.1']), port(2, ['10.244.1.1'])]));
    const gone = [...k.services.keys()].filter((key) => key.includes('10.96.0.2'));
    expect(gone).toHaveLength(1);
    for (const key of gone) k.services.delete(key);
    const read = ipvs.getDestinations;
    ipvs.getDestinations = (s) => {
      if (s.address === '10.96.0.2') throw new NetlinkError(ESRCH, { operation: 'IPVS_CMD_GET_DEST' });
      return read(s);
    };
    await backend.sync(state([port(1, ['10.244.0.1']), port(2, ['10.244.1.2'])]), changes('default/s2:http'));
    const back = [...k.services.entries()].filter(([key]) => key.includes('10.96.0.2'));
    expect(back).toHaveLength(1);
    expect([...(back[0]?.[1].dests.values() ?? [])].map((d) => d.address)).toEqual(['10.244.1.2']);
  });
});
