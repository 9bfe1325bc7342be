import { describe, expect, it } from 'vitest';
import { isIdle, retire } from './graceful-termination.js';
import type { IpvsDestination } from './ipvs-types.js';

const dest = (active: number | undefined, inactive: number | undefined, weight = 1): IpvsDestination => ({
  address: '10.244.0.1', port: 8080, forwardMethod: 'masq', weight, upperThreshold: 0, lowerThreshold: 0,
  ...(active === undefined ? {} : { activeConnections: active }), ...(inactive === undefined ? {} : { inactiveConnections: inactive }),
});
const opts = (now: number, since?: number) => ({ gracePeriodMs: 1000, now, terminating: new Map(since === undefined ? [] : [['k', since]]) });

describe('graceful termination', () => {
  it('TCP is idle without active connections; UDP and SCTP never drain (as kube-proxy)', () => {
    expect(isIdle('TCP', dest(0, 7))).toBe(true);
    expect(isIdle('TCP', dest(1, 0))).toBe(false);
    expect(isIdle('TCP', dest(undefined, undefined))).toBe(false);
    expect(isIdle('UDP', dest(0, 7))).toBe(true);
    expect(isIdle('UDP', dest(3, 7))).toBe(true);
    expect(isIdle('SCTP', dest(1, 0))).toBe(true);
    expect(isIdle('UDP', dest(undefined, undefined))).toBe(true);
  });

  it('drains from its recorded start until the grace period is over', () => {
    expect(retire('k', 'TCP', dest(1, 0), opts(500))).toEqual({ action: 'drain', since: 500, zeroWeight: true });
    expect(retire('k', 'TCP', dest(1, 0, 0), opts(900, 100))).toEqual({ action: 'drain', since: 100, zeroWeight: false });
    expect(retire('k', 'TCP', dest(1, 0, 0), opts(1100, 100))).toEqual({ action: 'delete' });
    expect(retire('k', 'TCP', dest(0, 0, 0), opts(200, 100))).toEqual({ action: 'delete' });
  });

  it('a start time in the future (the clock went back) restarts the grace period', () => {
    expect(retire('k', 'TCP', dest(1, 0, 0), opts(100, 50_000))).toEqual({ action: 'drain', since: 100, zeroWeight: false });
  });
});
