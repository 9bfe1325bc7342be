import { describe, expect, it } from 'vitest';
import { parseNftList } from './list-parse.js';
import { objectsDiff } from './objects-diff.js';
import type { NftObjects } from './objects.js';
import { tracePacket } from './tracer.js';

// `nft list table ip svcplane` as nft 1.0.6 prints a one-service table (cut from a real listing).
const LISTING = `table ip svcplane {
	comment "rules for svcplane (kube-proxy nftables mode semantics)"
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
		elements = { 10.96.0.100 . tcp . 80 comment "default/my-service" : goto service-4BBKY5IM-default/my-service/tcp/ }
	}

	map eps-4BBKY5IM-default/my-service/tcp/ {
		typeof numgen random mod 1 : ip daddr . tcp dport
		elements = { 0 : 10.244.1.11 . 9376, 1 : 10.244.1.12 . 9376,
			     2 : 10.244.2.11 . 9376 }
	}

	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services
	}

	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		jump masquerading
	}

	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips
	}

	chain masquerading {
		meta mark & 0x00004000 == 0x00000000 return
		meta mark set meta mark ^ 0x00004000
		masquerade fully-random comment "kubernetes service traffic requiring SNAT"
	}

	chain mark-for-masquerade {
		meta mark set meta mark | 0x00004000
	}

	chain service-4BBKY5IM-default/my-service/tcp/ {
		ip daddr 10.96.0.100 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
		meta l4proto tcp dnat ip to numgen random mod 3 map @eps-4BBKY5IM-default/my-service/tcp/
	}
}
`;

describe('parseNftList', () => {
  const objects = parseNftList(LISTING);

  it('reads chains with their hooks and rules, maps with their elements', () => {
    expect(objects.family).toBe('ip');
    expect(objects.chains.get('nat-prerouting')?.base).toEqual({ type: 'nat', hook: 'prerouting', priority: -100 });
    expect(objects.chains.get('service-4BBKY5IM-default/my-service/tcp/')?.rules.map((r) => r.action.kind)).toEqual(['verdict', 'dnat-map']);
    expect([...(objects.elements.get('eps-4BBKY5IM-default/my-service/tcp/')?.values() ?? [])].map((e) => e.data)).toEqual([['10.244.1.11', 9376], ['10.244.1.12', 9376], ['10.244.2.11', 9376]]);
    expect(objects.elements.get('service-ips')?.get('10.96.0.100 . tcp . 80')?.verdict).toEqual({ kind: 'goto', chain: 'service-4BBKY5IM-default/my-service/tcp/' });
  });

  it('traces like the table it lists: thirds, masqueraded from off the cluster', () => {
    const r = tracePacket(objects, { src: '192.168.1.50', dst: '10.96.0.100', dport: 80, protocol: 'TCP', from: 'outside' }, { localAddresses: ['192.168.1.10'] });
    expect(r.outcomes.map((o) => [o.destination, Number(o.probability.toFixed(6)), o.masqueraded])).toEqual([
      ['10.244.1.11:9376', 0.333333, true], ['10.244.1.12:9376', 0.333333, true], ['10.244.2.11:9376', 0.333333, true],
    ]);
  });

  it('refuses a statement svcplane never writes, naming the line', () => {
    expect(() => parseNftList(LISTING.replace('jump services', 'counter jump services'))).toThrow(/nft list line \d+: unknown statement at "counter/);
  });

  it('diffs against itself as empty, and names a missing element', () => {
    expect(objectsDiff(objects, objects)).toEqual([]);
    const elements = new Map(objects.elements);
    elements.set('service-ips', new Map());
    const drifted: NftObjects = { ...objects, elements };
    expect(objectsDiff(objects, drifted)).toEqual(['~ set service-ips', '+   10.96.0.100 . tcp . 80 comment "default/my-service" : goto service-4BBKY5IM-default/my-service/tcp/']);
  });
});
