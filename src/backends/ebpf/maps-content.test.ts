import { describe, expect, it } from 'vitest';
import { backendKey, backendKeyString } from './maps-content.js';

describe('backendKey', () => {
  it('packs an IPv4 backend into one number that tells address, port and protocol apart', () => {
    const k = backendKey({ address: '10.128.0.1', port: 8080, proto: 'TCP' });
    expect(typeof k).toBe('number');
    expect(k).toBe(backendKey({ address: '10.128.0.1', port: 8080, proto: 'TCP' }));
    const others = [
      backendKey({ address: '10.128.0.2', port: 8080, proto: 'TCP' }),
      backendKey({ address: '10.128.0.1', port: 8081, proto: 'TCP' }),
      backendKey({ address: '10.128.0.1', port: 8080, proto: 'UDP' }),
      backendKey({ address: '10.128.0.1', port: 8080, proto: 'SCTP' }),
      backendKey({ address: '10.128.1.0', port: 8080, proto: 'TCP' }),
    ];
    expect(new Set([k, ...others]).size).toBe(6);
  });

  it('is exact at the ends of the ranges', () => {
    const top = backendKey({ address: '255.255.255.255', port: 65535, proto: 'SCTP' });
    expect(top).toBe(((2 ** 32 - 1) * 65536 + 65535) * 4 + 2);
    expect(Number.isSafeInteger(top)).toBe(true);
    expect(backendKey({ address: '0.0.0.0', port: 0, proto: 'TCP' })).toBe(0);
    expect(backendKey({ address: '255.255.255.254', port: 65535, proto: 'SCTP' })).not.toBe(top);
  });

  it('keys anything that is not a dotted quad by its string', () => {
    expect(backendKey({ address: 'fd00::1', port: 80, proto: 'TCP' })).toBe('fd00::1:80/TCP');
    for (const address of ['1.2.3', '1.2.3.4.5', '1..2.3', '256.1.1.1', '1.2.3.4a', '', '1.2.3.']) {
      expect(backendKey({ address, port: 80, proto: 'TCP' }), address).toBe(backendKeyString({ address, port: 80, proto: 'TCP' }));
    }
  });
});
