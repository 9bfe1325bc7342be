import { describe, expect, it } from 'vitest';
import type { Pod, PodEnvVar } from '../model/pod.js';
import type { ServicePort } from '../model/types.js';
import { makeService } from '../state/test-builders.js';
import { containerEnvironment, formatEnv, pickContainer, UnknownContainerError } from './container-env.js';

const port = (p: Partial<ServicePort>): ServicePort => ({ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0, ...p });
const redis = makeService({ namespace: 'team', name: 'redis-master', clusterIPs: ['10.0.0.11'], ports: [port({ port: 6379 })] });
const kube = makeService({ namespace: 'default', name: 'kubernetes', clusterIPs: ['10.96.0.1'], ports: [port({ name: 'https', port: 443 })] });
const pod = (env: PodEnvVar[], p: Partial<Pod> = {}): Pod => ({
  namespace: 'team', name: 'cache-client', enableServiceLinks: true, hostNetwork: false, dnsPolicy: 'ClusterFirst', dnsConfig: undefined, containers: [{ name: 'app', env }], ...p,
});
const envOf = (p: Pod, opts = {}): string[] => containerEnvironment(p, pickContainer(p, undefined), [redis, kube], opts).map((e) => `${e.name}=${e.value}`);

describe('containerEnvironment', () => {
  it('declared variables first (expanded against earlier ones and services), then the service variables', () => {
    const env = envOf(
      pod([
        { name: 'REDIS_URL', value: 'redis://$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT)/0' },
        { name: 'GREETING', value: 'hi $(WHO)' }, // WHO is declared later: stays as written
        { name: 'WHO', value: 'world' },
        { name: 'ECHO', value: '$(WHO)-$$(WHO)-$(NOPE)' },
        { name: 'MY_NS', fieldRef: 'metadata.namespace' },
        { name: 'MY_NAME', fieldRef: 'metadata.name' },
      ]),
    );
    expect(env.slice(0, 6)).toEqual(['REDIS_URL=redis://10.0.0.11:6379/0', 'GREETING=hi $(WHO)', 'WHO=world', 'ECHO=world-$(WHO)-$(NOPE)', 'MY_NS=team', 'MY_NAME=cache-client']);
    expect(env.slice(6)).toEqual([
      'KUBERNETES_SERVICE_HOST=10.96.0.1', 'KUBERNETES_SERVICE_PORT=443', 'KUBERNETES_SERVICE_PORT_HTTPS=443', 'KUBERNETES_PORT=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443', 'KUBERNETES_PORT_443_TCP_PROTO=tcp', 'KUBERNETES_PORT_443_TCP_PORT=443', 'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
      'REDIS_MASTER_SERVICE_HOST=10.0.0.11', 'REDIS_MASTER_SERVICE_PORT=6379', 'REDIS_MASTER_PORT=tcp://10.0.0.11:6379', 'REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379',
      'REDIS_MASTER_PORT_6379_TCP_PROTO=tcp', 'REDIS_MASTER_PORT_6379_TCP_PORT=6379', 'REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11',
    ]);
  });

  it('a variable the pod declares wins over the service one, in the declared place', () => {
    const env = envOf(pod([{ name: 'REDIS_MASTER_SERVICE_HOST', value: 'override' }]));
    expect(env[0]).toBe('REDIS_MASTER_SERVICE_HOST=override');
    expect(env.filter((l) => l.startsWith('REDIS_MASTER_SERVICE_HOST='))).toHaveLength(1);
  });

  it('a name declared twice keeps its first place and last value; the second sees the first', () => {
    expect(envOf(pod([{ name: 'A', value: '1' }, { name: 'B', value: 'b' }, { name: 'A', value: '$(A)2' }])).slice(0, 2)).toEqual(['A=12', 'B=b']);
  });

  it('service links off: only default/kubernetes; the flag overrides the pod', () => {
    const names = (l: string[]): string[] => [...new Set(l.map((x) => x.split('_')[0] ?? ''))];
    expect(names(envOf(pod([], { enableServiceLinks: false })))).toEqual(['KUBERNETES']);
    expect(names(envOf(pod([], { enableServiceLinks: false }), { enableServiceLinks: true }))).toEqual(['KUBERNETES', 'REDIS']);
    expect(names(envOf(pod([]), { enableServiceLinks: false }))).toEqual(['KUBERNETES']);
  });

  it('picks the named container, or says which exist', () => {
    const p = pod([], { containers: [{ name: 'a', env: [] }, { name: 'b', env: [{ name: 'X', value: '1' }] }] });
    expect(pickContainer(p, 'b').name).toBe('b');
    expect(pickContainer(p, undefined).name).toBe('a');
    expect(() => pickContainer(p, 'c')).toThrow(UnknownContainerError);
    expect(() => pickContainer(p, 'c')).toThrow('Pod team/cache-client: spec.containers: no container named "c" (it has: a, b)');
  });

  it('formats KEY=VALUE lines', () => {
    expect(formatEnv([{ name: 'A', value: '1 2' }, { name: 'B', value: '' }])).toBe('A=1 2\nB=\n');
  });
});
