import { describe, expect, it } from 'vitest';
import { chainHash } from '../common/kube-names.js';
import {
  MAX_CHAIN_NAME_LENGTH, endpointChain, endpointString, isOwnChain, sanitizeCommentPart, servicePortChains, servicePortName,
} from './chain-names.js';

describe('chain names', () => {
  it('match kube-proxy\'s for the same service port and endpoint', () => {
    // Values from kube-proxy's proxier tests (ns1/svc1:p80, endpoint 10.180.0.1:80).
    expect(servicePortChains('ns1/svc1:p80', 'TCP').svc).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
  });

  it('share one hash across SVC/SVL/EXT/FW and differ by protocol and port name', () => {
    const tcp = servicePortChains('default/web:http', 'TCP');
    const hash = tcp.svc.slice('KUBE-SVC-'.length);
    expect([tcp.svl, tcp.ext, tcp.fw]).toEqual([`KUBE-SVL-${hash}`, `KUBE-EXT-${hash}`, `KUBE-FW-${hash}`]);
    expect(servicePortChains('default/web:http', 'UDP').svc).not.toBe(tcp.svc);
    expect(servicePortChains('default/web:https', 'TCP').svc).not.toBe(tcp.svc);
  });

  it('are stable, upper-case base32 and within iptables\' length limit', () => {
    const a = endpointChain('default/web:http', 'SCTP', '[fd00::1]:8080');
    expect(endpointChain('default/web:http', 'SCTP', '[fd00::1]:8080')).toBe(a);
    expect(a).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(a.length).toBeLessThanOrEqual(MAX_CHAIN_NAME_LENGTH);
    expect(chainHash('')).toBe('4OYMIQUY7QOBJGX3'); // base32(sha256('')) = 4OYMIQUY7QOBJGX36TEJS35ZEQT24QPE...
  });

  it('name the unnamed port as kube-proxy does, and endpoints as ip:port / [ip]:port', () => {
    expect(servicePortName('default', 'web', '')).toBe('default/web');
    expect(servicePortName('default', 'web', 'http')).toBe('default/web:http');
    expect(endpointString('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(endpointString('fd00::1', 80)).toBe('[fd00::1]:80');
  });

  it('recognise only svcplane\'s chains as its own', () => {
    expect(isOwnChain('nat', 'KUBE-SEP-ABC')).toBe(true);
    expect(isOwnChain('nat', 'KUBE-MARK-MASQ')).toBe(true);
    expect(isOwnChain('filter', 'KUBE-MARK-MASQ')).toBe(false);
    expect(isOwnChain('nat', 'KUBE-MARK-DROP')).toBe(false);
    // kube-proxy (1.28+) writes KUBE-FIREWALL itself: the localhost NodePorts' martian drop.
    expect(isOwnChain('filter', 'KUBE-FIREWALL')).toBe(true);
    expect(isOwnChain('nat', 'KUBE-FIREWALL')).toBe(false);
  });
});

describe('sanitizeCommentPart', () => {
  it('keeps [A-Za-z0-9_.:/-] and replaces everything else', () => {
    expect(sanitizeCommentPart('default/web:http-2.x_y')).toBe('default/web:http-2.x_y');
    expect(sanitizeCommentPart('a"b c\nd$(e)`f`\\\'')).toBe('a_b_c_d__e__f___');
    expect(sanitizeCommentPart('ünï')).toBe('_n_');
  });
});
