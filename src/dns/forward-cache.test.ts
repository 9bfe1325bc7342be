import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { cacheSeconds, ForwardCache } from './forward-cache.js';
import { nameserversFrom, parseUpstream } from './resolv-conf.js';

function response(p: dnsPacket.Packet): DecodedPacket {
  return dnsPacket.decode(dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'x.example', type: 'A' }], ...p }));
}

const soa = { name: 'example', type: 'SOA' as const, ttl: 30, class: 'IN' as const, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 10 } };

describe('cacheSeconds', () => {
  it('positive answers for their smallest TTL, negatives for the SOA minimum, never TC or SERVFAIL', () => {
    expect(cacheSeconds(response({ answers: [{ name: 'x.example', type: 'A', ttl: 60, data: '192.0.2.1' }, { name: 'x.example', type: 'A', ttl: 20, data: '192.0.2.2' }] }))).toBe(20);
    expect(cacheSeconds(response({ flags: 3, authorities: [soa] }))).toBe(10);
    expect(cacheSeconds(response({ authorities: [soa] }))).toBe(10); // NODATA
    expect(cacheSeconds(response({ flags: 3 }))).toBeUndefined(); // no SOA: not cacheable
    expect(cacheSeconds(response({ flags: 2 }))).toBeUndefined();
    expect(cacheSeconds(response({ flags: dnsPacket.TRUNCATED_RESPONSE, answers: [{ name: 'x.example', type: 'A', ttl: 60, data: '192.0.2.1' }] }))).toBeUndefined();
  });
});

describe('ForwardCache', () => {
  it('answers with the asker\'s id and question, ages TTLs, expires, and stays within its bound', () => {
    let now = 0;
    const cache = new ForwardCache({ maxEntries: 2, maxTtl: 3600, now: () => now });
    cache.store('a', response({ answers: [{ name: 'x.example', type: 'A', ttl: 60, data: '192.0.2.1' }] }));
    now = 15_000;
    const hit = dnsPacket.decode(cache.lookup('a', 77, [{ name: 'X.Example', type: 'A', class: 'IN' }], undefined) as Buffer);
    expect(hit.id).toBe(77);
    expect(hit.questions?.[0]?.name).toBe('X.Example');
    expect(hit.answers?.[0]).toMatchObject({ data: '192.0.2.1', ttl: 45 });
    now = 61_000;
    expect(cache.lookup('a', 1, [], undefined)).toBeUndefined();
    for (const k of ['b', 'c', 'd']) cache.store(k, response({ answers: [{ name: 'x.example', type: 'A', ttl: 60, data: '192.0.2.1' }] }));
    expect(cache.size).toBe(2);
    expect(cache.lookup('b', 1, [], undefined)).toBeUndefined(); // the oldest went first
  });
});

describe('upstream addresses', () => {
  it('parses flags and resolv.conf', () => {
    expect(parseUpstream('192.0.2.1')).toEqual({ host: '192.0.2.1', port: 53 });
    expect(parseUpstream('192.0.2.1:5353')).toEqual({ host: '192.0.2.1', port: 5353 });
    expect(parseUpstream('[2001:db8::1]:53')).toEqual({ host: '2001:db8::1', port: 53 });
    expect(() => parseUpstream('dns.example')).toThrow(/upstream "dns.example"/);
    expect(nameserversFrom('# c\nnameserver 192.0.2.1\nsearch x\nnameserver fe80::1%eth0\nnameserver bogus\n')).toEqual([{ host: '192.0.2.1', port: 53 }, { host: 'fe80::1', port: 53 }]);
  });
});
