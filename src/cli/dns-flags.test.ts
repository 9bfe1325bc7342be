// The DNS serving flags of `dns` and `run`: defaults, accepted values, and errors naming the flag.
import { describe, expect, it } from 'vitest';
import { defaultDnsWorkers, parseDnsServing } from './dns-flags.js';
import { agentDnsFlags } from './run-command.js';

const DNS_FLAGS = { clusterDomain: '--cluster-domain', podRecords: '--pod-records', ttl: '--ttl', workers: '--workers' };

describe('parseDnsServing', () => {
  it('defaults as a kubeadm cluster\'s CoreDNS', () => {
    expect(parseDnsServing({}, DNS_FLAGS, 'dns')).toEqual({ clusterDomain: 'cluster.local', podRecords: 'insecure', ttl: 5, workers: defaultDnsWorkers() });
    expect(defaultDnsWorkers()).toBeGreaterThanOrEqual(1);
  });

  it('takes a domain (lower-cased, trailing dot dropped), a pod record mode and a TTL', () => {
    expect(parseDnsServing({ clusterDomain: 'Example.Internal.', podRecords: 'verified', ttl: '30', workers: '0' }, DNS_FLAGS, 'dns')).toEqual({ clusterDomain: 'example.internal', podRecords: 'verified', ttl: 30, workers: 0 });
  });

  it.each([
    [{ clusterDomain: 'bad domain' }, /dns: --cluster-domain "bad domain": expected a DNS name/],
    [{ clusterDomain: 'a..b' }, /--cluster-domain/],
    [{ clusterDomain: '' }, /--cluster-domain/],
    [{ podRecords: 'sometimes' }, /--pod-records "sometimes": expected insecure, verified, disabled/],
    [{ ttl: '-1' }, /--ttl -1: expected whole seconds/],
    [{ ttl: '1.5' }, /--ttl/],
    [{ ttl: '' }, /--ttl/],
    [{ ttl: '3601' }, /--ttl/],
    [{ workers: '-1' }, /--workers -1: expected a whole number/],
    [{ workers: 'many' }, /--workers/],
  ])('refuses %j', (given, message) => {
    expect(() => parseDnsServing(given, DNS_FLAGS, 'dns')).toThrow(message);
  });
});

describe('run\'s --dns-* flags', () => {
  it('default to what `svcplane dns` defaults to', () => {
    expect(agentDnsFlags({ dnsListen: ['127.0.0.1:53'] })).toEqual({ listens: ['127.0.0.1:53'], upstreams: [], clusterDomain: 'cluster.local', podRecords: 'insecure', ttl: 5, workers: defaultDnsWorkers() });
  });

  it('carry the domain, pod records and TTL', () => {
    expect(agentDnsFlags({ dnsListen: ['127.0.0.1:53'], dnsClusterDomain: 'corp.internal', dnsPodRecords: 'disabled', dnsTtl: '60', dnsWorkers: '3' })).toMatchObject({ clusterDomain: 'corp.internal', podRecords: 'disabled', ttl: 60, workers: 3 });
  });

  it('name the run flag in errors', () => {
    expect(() => agentDnsFlags({ dnsListen: ['127.0.0.1:53'], dnsTtl: 'x' })).toThrow(/run: --dns-ttl x/);
  });

  it('are an error without --dns-listen', () => {
    expect(() => agentDnsFlags({ dnsTtl: '30' })).toThrow(/run: --dns-ttl needs --dns-listen/);
    expect(() => agentDnsFlags({ dnsUpstream: ['192.0.2.1'] })).toThrow(/--dns-upstream needs --dns-listen/);
    expect(() => agentDnsFlags({ dnsWorkers: '2' })).toThrow(/--dns-workers needs --dns-listen/);
    expect(agentDnsFlags({})).toMatchObject({ listens: [] });
  });
});
