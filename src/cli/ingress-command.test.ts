import { describe, expect, it } from 'vitest';
import { ingressOptionsFromRunFlags, parseAddresses, parseDefaultBackend, parseListen } from './ingress-command.js';

describe('ingress flags', () => {
  it('parses listen addresses of both families', () => {
    expect(parseListen('0.0.0.0:80', '--http-listen')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListen('[::]:443', '--https-listen')).toEqual({ host: '::', port: 443 });
  });

  it.each(['80', 'localhost:80', '1.2.3.4:0', '1.2.3.4:70000', '1.2.3.4:80;'])('refuses %j', (value) => {
    expect(() => parseListen(value, '--http-listen')).toThrow(/--http-listen: expected IP:PORT/);
  });

  it('parses --default-backend by port number or name, and refuses anything else', () => {
    expect(parseDefaultBackend('kube-system/fallback:8080')).toEqual({ namespace: 'kube-system', backend: { service: 'fallback', port: 8080 } });
    expect(parseDefaultBackend('default/web:http')).toEqual({ namespace: 'default', backend: { service: 'web', port: 'http' } });
    expect(() => parseDefaultBackend('web:80')).toThrow(/NAMESPACE\/SERVICE:PORT/);
    expect(() => parseDefaultBackend('default/web:80;')).toThrow(/NAMESPACE\/SERVICE:PORT/);
  });

  it('parses --publish-status-address as comma-separated IPs, naming a bad one', () => {
    expect(parseAddresses(undefined)).toEqual([]);
    expect(parseAddresses('192.0.2.1, 2001:db8::1')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(() => parseAddresses('192.0.2.1,lb.example')).toThrow(/--publish-status-address: "lb.example" is not an IP address/);
  });

  it("reads run's --ingress flags (its state directory is --ingress-state-dir; node and sync period come from the agent's settings)", () => {
    const opts = {
      httpListen: '127.0.0.1:8080', httpsListen: '[::1]:8443', ingressStateDir: '/run/x', stateDir: '/wrong', nginx: '/usr/sbin/nginx', ingressClass: 'nginx',
      watchIngressWithoutClass: 'false', defaultBackend: 'default/web:80', serviceUpstream: 'true', publishStatusAddress: '192.0.2.1',
    };
    expect(ingressOptionsFromRunFlags(opts, { nodeName: 'node-a', minSyncPeriodMs: 1000 })).toEqual({
      http: { host: '127.0.0.1', port: 8080 }, https: { host: '::1', port: 8443 }, stateDir: '/run/x', nginx: '/usr/sbin/nginx', className: 'nginx',
      watchWithoutClass: false, defaultBackend: { namespace: 'default', backend: { service: 'web', port: 80 } }, serviceUpstream: true,
      publishStatusAddresses: ['192.0.2.1'], nodeName: 'node-a', minSyncPeriodMs: 250,
    });
    expect(() => ingressOptionsFromRunFlags({ ...opts, serviceUpstream: 'maybe' }, { nodeName: 'node-a', minSyncPeriodMs: 1000 })).toThrow(/--service-upstream/);
  });
});
