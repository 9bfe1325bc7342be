// The applier with real listeners on 127.0.0.1 and a recording iptables kernel.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, ServicePortState, StateChanges } from '../../state/types.js';
import { identity, request, type TestServer } from '../../../test/integration/userspace-kit.js';
import { JUMPS } from './redirect-rules.js';
import { UserspaceBackend, type UserspaceKernel } from './userspace-backend.js';

const ctx = defaultNodeContext({ nodeIPs: ['127.0.0.1'] });
const state = (...ports: ServicePortState[]): DesiredState => ({ IPv4: familyState(...ports), IPv6: familyState() });
const changes = (...keys: string[]): StateChanges => ({ IPv4: new Set(keys), IPv6: new Set(), serviceChanges: 1, endpointChanges: 0 });

class RecordingKernel implements UserspaceKernel {
  readonly restores: string[] = [];
  readonly ensured: string[] = [];
  async restore(text: string): Promise<void> {
    this.restores.push(text);
  }
  async listChains(): Promise<Set<string>> {
    return new Set(['KUBE-PORTALS-HOST', 'KUBE-PORTALS-FILTER', 'DOCKER']);
  }
  save = async (_table: string): Promise<string> => '';
  async ensureRule(_t: string, chain: string): Promise<void> {
    this.ensured.push(chain);
  }
  async deleteRule(): Promise<void> {}
}

describe('UserspaceBackend', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function backendServer(name: string): Promise<TestServer> {
    const s = await identity(name);
    cleanups.push(() => s.close());
    return s;
  }

  it('opens a listener per service port, redirects to it, and skips the kernel when a partial sync changes no rule', async () => {
    const a = await backendServer('a');
    const kernel = new RecordingKernel();
    const backend = new UserspaceBackend({ ctx, logger: pino({ level: 'silent' }), kernels: { IPv4: kernel } });
    cleanups.push(() => backend.cleanup());
    const sp = servicePort({ clusterEndpoints: [endpoint('127.0.0.1', a.backend.port)] });
    const full = await backend.sync(state(sp));
    expect(full.ruleCounts).toMatchObject({ listeners: 1, nat: 2, listenerErrors: 0 });
    const [want, port] = [...backend.listeners.entries()][0] ?? [];
    if (want === undefined || port === undefined) throw new Error('no listener');
    expect(want.servicePort).toBe('default/web:http');
    expect(kernel.restores[0]).toContain(`--to-destination 127.0.0.1:${port}`);
    expect(kernel.ensured).toHaveLength(7); // nothing was in the (empty) dumps
    expect(await request(port)).toEqual({ ok: true, data: 'a' });
    // A new endpoint: the balancer changes, the rules do not.
    const b = await backendServer('b');
    await backend.sync(state(servicePort({ clusterEndpoints: [endpoint('127.0.0.1', a.backend.port), endpoint('127.0.0.1', b.backend.port)] })), changes(sp.key));
    expect(kernel.restores).toHaveLength(1);
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await request(port);
      if (r.ok) names.add(r.data);
    }
    expect(names).toEqual(new Set(['a', 'b']));
  });

  it('a full sync reads the kernel back and writes nothing when it already holds the rules and jumps', async () => {
    const withEndpoint = servicePort({ clusterEndpoints: [endpoint('127.0.0.1', 9)] });
    const kernel = new RecordingKernel();
    const backend = new UserspaceBackend({ ctx, logger: pino({ level: 'silent' }), kernels: { IPv4: kernel } });
    cleanups.push(() => backend.cleanup());
    await backend.sync(state(withEndpoint));
    const written = kernel.restores[0] ?? '';
    // What iptables-nft-save prints for it: chains declared with counters, every comment quoted.
    const dump = (table: string): string => {
      const block = written.split('COMMIT')[table === 'filter' ? 0 : 1] ?? '';
      const jumps = JUMPS.filter((j) => j.table === table).map((j) => `-A ${j.chain} ${j.args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`);
      return block.replace(/^:(\S+) - \[0:0\]$/gm, ':$1 - [0:0]').split('\n').filter((l) => l !== `*${table}`).concat(jumps).join('\n');
    };
    kernel.save = async (table: string) => dump(table);
    kernel.restores.length = 0;
    kernel.ensured.length = 0;
    const out = await backend.sync(state(withEndpoint));
    expect(kernel.restores).toEqual([]);
    expect(kernel.ensured).toEqual([]);
    expect(out.sent.unchanged).toBe(1);
    // One rule missing (an operator flushed a chain): rewritten.
    kernel.save = async (table: string) => dump(table).replace(/^-A KUBE-PORTALS-HOST .*$/m, '');
    await backend.sync(state(withEndpoint));
    expect(kernel.restores).toHaveLength(1);
  });

  it('a listener that cannot be opened is that service port\'s error alone', async () => {
    const a = await backendServer('a');
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) });
    const backend = new UserspaceBackend({ ctx, logger, kernels: {}, noRedirect: { address: '127.0.0.1' } });
    cleanups.push(() => backend.cleanup());
    // Both want 127.0.0.1:<a's port>, which a's server already holds; a third port is free.
    const taken = servicePort({ serviceName: 'taken', port: a.backend.port, clusterEndpoints: [endpoint('127.0.0.1', a.backend.port)] });
    const free = servicePort({ serviceName: 'free', port: 0, clusterEndpoints: [endpoint('127.0.0.1', a.backend.port)] });
    const out = await backend.sync(state(taken, free));
    expect(out.ruleCounts).toMatchObject({ listeners: 1, listenerErrors: 1 });
    expect(logs.map((l) => [l.servicePort, l.code])).toEqual([['default/taken:http', 'SVCPLANE_USERSPACE_LISTENER']]);
    const [[, port]] = [...backend.listeners.entries()] as [[unknown, number]];
    expect(await request(port)).toEqual({ ok: true, data: 'a' });
    // The same failure is not logged again on every sync.
    await backend.sync(state(taken, free));
    expect(logs).toHaveLength(1);
  });

  it('closes the listener of a removed service port; cleanup removes jumps and our chains only', async () => {
    const kernel = new RecordingKernel();
    const backend = new UserspaceBackend({ ctx, logger: pino({ level: 'silent' }), kernels: { IPv4: kernel } });
    await backend.sync(state(servicePort()));
    const [[, port]] = [...backend.listeners.entries()] as [[unknown, number]];
    await backend.sync(state(), changes('default/web:http'));
    expect(backend.listeners.size).toBe(0);
    expect((await request(port)).ok).toBe(false);
    await backend.cleanup();
    const last = kernel.restores.at(-1) ?? '';
    expect(last).toContain('-X KUBE-PORTALS-HOST');
    expect(last).toContain('-X KUBE-PORTALS-FILTER');
    expect(last).not.toContain('DOCKER');
  });
});
