// Privileged: `svcplane maps` against the real object's maps, pinned in a private bpffs.
// Records are written with bpftool (bytes from the codec), then the built CLI reads
// every map back through the table: frontends of both families with their backends,
// the state maps' entry counts, and an entry that does not decode reported as such.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EBPF_MAPS } from '../../src/backends/ebpf/map-table.js';
import { BE_FLAG_LOCAL, MAP_NAMES, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP } from '../../src/backends/ebpf/map-types.js';
import { cliEntry } from '../../src/testbed/agent-process.js';
import { BpfSandbox } from './lib/bpf-sandbox.js';
import { addBackend, addFrontend } from './lib/lb-maps.js';

describe('svcplane maps (real maps in a private bpffs)', () => {
  let sandbox: BpfSandbox;

  beforeAll(async () => {
    sandbox = await BpfSandbox.start();
    await addBackend(sandbox, 1, { address: '198.18.1.1', port: 8080, proto: 'TCP', flags: BE_FLAG_LOCAL });
    await addBackend(sandbox, 2, { address: 'fd00:18::2', port: 8080, proto: 'UDP', flags: 0 });
    await addFrontend(sandbox, { address: '198.18.100.1', port: 80, proto: 'TCP', flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_AFFINITY, affinityTimeout: 60, revNatIndex: 1, backendIds: [1] });
    await addFrontend(sandbox, { address: 'fd00:18::100', port: 53, proto: 'UDP', flags: SVC_FLAG_CLUSTER_IP, revNatIndex: 2, backendIds: [2] });
    const ct = EBPF_MAPS.conntrack;
    const ctKey = { saddr: '198.18.0.9', daddr: '198.18.100.1', sport: 40000, dport: 80, proto: 'TCP', dir: 0 } as const;
    await sandbox.updateMap(MAP_NAMES.conntrack, ct.key.encode(ctKey), ct.value.encode({ address: '198.18.1.1', port: 8080, backendId: 1, revNatIndex: 1 }));
    const aff = EBPF_MAPS.affinity;
    await sandbox.updateMap(MAP_NAMES.affinity, aff.key.encode({ clientId: 7n, revNatIndex: 1, netnsCookie: true }), aff.value.encode({ lastUsed: 1n, backendId: 1 }));
    // A backend whose protocol number is 99: not a record of ours.
    await sandbox.updateMap(MAP_NAMES.backends, EBPF_MAPS.backends.key.encode(3), Uint8Array.of(198, 18, 1, 3, 0, 80, 99, 0));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('prints both families\' frontends, the state maps\' counts, and how many entries did not decode', async () => {
    const { stdout, stderr } = await sandbox.run(process.execPath, [cliEntry(), 'maps', '--pin-root', '/sys/fs/bpf']);
    expect(stdout.split('\n')).toEqual([
      'TCP 198.18.100.1:80 #1 cluster-ip,affinity affinity 60s -> 198.18.1.1:8080 [local]',
      'UDP [fd00:18::100]:53 #2 cluster-ip -> [fd00:18::2]:8080',
      '2 frontends, 2 backends, 2 reverse-NAT entries, 0 Maglev tables',
      'state: svcp_ct4 1, svcp_ct6 0, svcp_lb4_aff 1, svcp_sk4_rev 0, svcp_sk6_rev 0',
      '',
    ]);
    expect(stderr).toBe('1 entries could not be decoded\n');
  }, 60_000);
});
