import { describe, expect, it } from 'vitest';
import { IngressHealth } from './ingress-health.js';

const outcome = (reloaded: boolean, served: string[] = ['default/web']) => ({ reloaded, served: new Set(served), excluded: [], problems: [] });

describe('IngressHealth', () => {
  it('is healthy while changes reach nginx, and stuck once one waited longer than allowed', () => {
    let t = 1_000_000;
    const h = new IngressHealth(() => t, 60_000);
    const ctx = { nginxPid: 42, servicesListed: true };
    expect(h.report(ctx)).toMatchObject({ healthy: true, lastSync: null, changePendingSince: new Date(t).toISOString() });
    h.started();
    t += 800;
    h.succeeded(outcome(true), 800);
    expect(h.report(ctx)).toMatchObject({ healthy: true, lastSync: new Date(t).toISOString(), lastReload: new Date(t).toISOString(), lastReloadMs: 800, changePendingSince: null, servedIngresses: 1 });

    // A change arrives while a sync runs: that sync does not cover it.
    h.started();
    t += 10;
    h.changed();
    h.succeeded(outcome(false));
    expect(h.report(ctx).changePendingSince).toBe(new Date(t).toISOString());
    // Then nginx -t hangs: after 60 s the controller is reported stuck, with why.
    h.started();
    t += 61_000;
    expect(h.report(ctx)).toMatchObject({ healthy: false, reason: expect.stringMatching(/^a change has waited 61 s for nginx: a sync has been running since /) });
    h.failed(new Error('nginx -t: timed out'));
    expect(h.report(ctx)).toMatchObject({ healthy: false, reason: expect.stringMatching(/1 syncs failed, the last: nginx -t: timed out$/), consecutiveFailures: 1 });
    h.started();
    h.succeeded(outcome(true));
    expect(h.report(ctx)).toMatchObject({ healthy: true, lastError: null, consecutiveFailures: 0 });
  });

  it('names what it waits for: the first list, the Ingress kinds, or nginx', () => {
    let t = 0;
    const h = new IngressHealth(() => t, 1000);
    h.expectIngressKinds();
    t = 2000;
    expect(h.report({ nginxPid: 1, servicesListed: false }).reason).toMatch(/the source has not delivered its first list$/);
    const source = { healthy: false, detail: 'ingresses not listed yet (HTTP 403: forbidden)' };
    expect(h.report({ nginxPid: 1, servicesListed: true, source })).toMatchObject({
      healthy: false, reason: expect.stringMatching(/the Ingress kinds are not listed yet \(ingresses not listed yet \(HTTP 403: forbidden\)\)$/), source: { healthy: false, listed: false },
    });
    h.ingressKindsListed();
    expect(h.report({ nginxPid: undefined, servicesListed: true }).reason).toBe('nginx is not running');
  });
});
