import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, ServicePortState } from '../../state/types.js';
import { planListeners } from './planner.js';
import { renderCleanup, renderRules } from './redirect-rules.js';

const ctx = defaultNodeContext({ nodeIPs: ['192.168.1.10'], clusterCIDRs: ['10.244.0.0/16'] });
const state = (...ports: ServicePortState[]): DesiredState => ({ IPv4: familyState(...ports), IPv6: familyState() });
const a = endpoint('10.244.1.1', 8080, { isLocal: true });
const b = endpoint('10.244.2.1', 8080);

describe('planListeners', () => {
  it('one internal listener per cluster IP port, bound to the node IP on a kernel-chosen port', () => {
    const [w, ...rest] = planListeners(state(servicePort({ clusterEndpoints: [a, b], affinityTimeoutSeconds: 30 })), { ctx });
    expect(rest).toEqual([]);
    expect(w).toMatchObject({ id: 'IPv4|default/web:http|internal', host: '192.168.1.10', port: 0, protocol: 'TCP', affinitySeconds: 30 });
    expect(w?.backends.map((x) => x.key)).toEqual(['10.244.1.1:8080', '10.244.2.1:8080']);
    expect(w?.frontends.map((f) => f.key)).toEqual(['10.96.0.10:80/TCP']);
  });

  it('a separate external listener with externalTrafficPolicy\'s endpoints for NodePorts, external and LB IPs', () => {
    const sp = servicePort({ clusterEndpoints: [a, b], nodePort: 30080, externalIPs: ['192.168.77.150'], externalPolicyLocal: true });
    const [internal, external] = planListeners(state(sp), { ctx });
    expect(internal?.backends).toHaveLength(2);
    expect(external).toMatchObject({ path: 'external' });
    expect(external?.backends.map((x) => x.ip)).toEqual(['10.244.1.1']);
    expect(external?.frontends.map((f) => `${f.kind} ${f.key}`)).toEqual(['external-ip 192.168.77.150:80/TCP', 'node-port 192.168.1.10:30080/TCP']);
  });

  it('a contested frontend is redirected for the first claimant by key only', () => {
    const first = servicePort({ serviceName: 'aaa', clusterIP: '10.96.0.1', externalIPs: ['192.168.77.150'], clusterEndpoints: [a] });
    const second = servicePort({ serviceName: 'bbb', clusterIP: '10.96.0.2', externalIPs: ['192.168.77.150'], clusterEndpoints: [b] });
    const wants = planListeners(state(second, first), { ctx });
    const owners = wants.filter((w) => w.frontends.some((f) => f.address === '192.168.77.150')).map((w) => w.servicePort);
    expect(owners).toEqual(['default/aaa:http']);
  });

  it('no endpoints: the listener exists with no backend (the proxy resets connections)', () => {
    expect(planListeners(state(servicePort()), { ctx })[0]?.backends).toEqual([]);
  });

  it('unprivileged: loopback and kernel-chosen ports, or the service ports on a given address', () => {
    const sp = servicePort({ clusterEndpoints: [a], nodePort: 30080 });
    expect(planListeners(state(sp), { ctx, noRedirect: {} }).map((w) => `${w.host}:${w.port}`)).toEqual(['127.0.0.1:0', '127.0.0.1:0']);
    expect(planListeners(state(sp), { ctx, noRedirect: { address: '127.0.0.2' } }).map((w) => `${w.host}:${w.port}`)).toEqual(['127.0.0.2:80', '127.0.0.2:30080']);
  });
});

describe('renderRules', () => {
  it('DNATs each frontend to its listener from both PREROUTING and OUTPUT chains', () => {
    const sp = servicePort({ clusterEndpoints: [a], nodePort: 30080 });
    const wants = planListeners(state(sp), { ctx });
    const r = renderRules('IPv4', wants, new Map([[wants[0]?.id as string, 40001], [wants[1]?.id as string, 40002]]));
    expect(r.restore.split('\n').filter((l) => l.startsWith('-A'))).toEqual([
      '-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -j DNAT --to-destination 192.168.1.10:40001',
      '-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -j DNAT --to-destination 192.168.1.10:40001',
      '-A KUBE-NODEPORT-CONTAINER -d 192.168.1.10/32 -p tcp -m tcp --dport 30080 -m comment --comment "default/web:http" -j DNAT --to-destination 192.168.1.10:40002',
      '-A KUBE-NODEPORT-HOST -d 192.168.1.10/32 -p tcp -m tcp --dport 30080 -m comment --comment "default/web:http" -j DNAT --to-destination 192.168.1.10:40002',
    ]);
    expect(r.natRules).toBe(4);
  });

  it('a frontend without backends is rejected in the filter table, not redirected', () => {
    const wants = planListeners(state(servicePort()), { ctx });
    const r = renderRules('IPv4', wants, new Map([[wants[0]?.id as string, 40001]]));
    expect(r.natRules).toBe(0);
    expect(r.restore).toContain('-A KUBE-PORTALS-FILTER -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -j REJECT --reject-with icmp-port-unreachable');
  });

  it('a listener that failed to open gets no rule', () => {
    const wants = planListeners(state(servicePort({ clusterEndpoints: [a] })), { ctx });
    expect(renderRules('IPv4', wants, new Map()).natRules).toBe(0);
  });

  it('LB frontends with source ranges: redirected for allowed sources only, dropped otherwise', () => {
    const sp = servicePort({ clusterEndpoints: [a], loadBalancerIPs: ['192.168.77.200'], loadBalancerSourceRanges: ['192.168.77.0/25'], hasEndpoints: true });
    const wants = planListeners(state(sp), { ctx });
    const ext = wants.find((w) => w.path === 'external');
    const r = renderRules('IPv4', wants, new Map(wants.map((w, i) => [w.id, 40000 + i])));
    expect(r.restore).toContain(`-A KUBE-PORTALS-CONTAINER -s 192.168.77.0/25 -d 192.168.77.200/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -j DNAT --to-destination 192.168.1.10:${40000 + wants.indexOf(ext as never)}`);
    expect(r.restore).toContain('-A KUBE-PORTALS-FILTER -d 192.168.77.200/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -j DROP');
  });

  it('keeps quotes and control characters out of comments', () => {
    const wants = planListeners(state(servicePort({ portName: 'x"\\\n', clusterEndpoints: [a] })), { ctx });
    const r = renderRules('IPv4', wants, new Map([[wants[0]?.id as string, 1]]));
    expect(r.restore).toContain('--comment "default/web:x___"');
  });

  it('cleanup deletes only the chains of ours that exist', () => {
    expect(renderCleanup({ nat: new Set(['PREROUTING', 'KUBE-PORTALS-HOST']), filter: new Set(['INPUT']) })).toBe('*nat\n:KUBE-PORTALS-HOST - [0:0]\n-X KUBE-PORTALS-HOST\nCOMMIT\n');
    expect(renderCleanup({ nat: new Set(), filter: new Set() })).toBeUndefined();
  });
});
