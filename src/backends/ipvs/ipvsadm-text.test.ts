import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { ipvsadmRestoreText } from './ipvsadm-text.js';
import { desiredVirtualServers } from './virtual-servers.js';

describe('ipvsadmRestoreText', () => {
  it('writes ipvsadm -R lines: UDP, persistence, IPv6 in brackets, NodePorts on node IPs', () => {
    const ctx = defaultNodeContext({ nodeIPs: ['192.168.1.10'] });
    const v4 = familyState(
      servicePort({ serviceName: 'dns', protocol: 'UDP', port: 53, clusterIP: '10.96.0.10', clusterEndpoints: [endpoint('10.244.1.5', 53)] }),
      servicePort({ serviceName: 'web', affinityTimeoutSeconds: 600, nodePort: 30080, clusterEndpoints: [endpoint('10.244.1.6', 8080)] }),
    );
    const v6 = familyState(servicePort({ serviceName: 'six', clusterIP: 'fd00:10:96::a', clusterEndpoints: [endpoint('fd00:244::5', 8080)] }));
    const text = ipvsadmRestoreText(desiredVirtualServers({ IPv4: v4, IPv6: v6 }, ctx, { scheduler: 'lc' }));
    expect(text.split('\n')).toEqual([
      '-A -t 10.96.0.10:80 -s lc -p 600',
      '-a -t 10.96.0.10:80 -r 10.244.1.6:8080 -m -w 1',
      '-A -t 192.168.1.10:30080 -s lc -p 600',
      '-a -t 192.168.1.10:30080 -r 10.244.1.6:8080 -m -w 1',
      '-A -t [fd00:10:96::a]:80 -s lc',
      '-a -t [fd00:10:96::a]:80 -r [fd00:244::5]:8080 -m -w 1',
      '-A -u 10.96.0.10:53 -s lc',
      '-a -u 10.96.0.10:53 -r 10.244.1.5:53 -m -w 1',
      '',
    ]);
  });
});
