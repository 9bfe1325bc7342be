import { describe, expect, it } from 'vitest';
import { parseWrk } from './ingress-wrk.js';

const SAMPLE = `Running 5s test @ http://10.231.0.1/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.02ms  20.01ms   90.00%
    Req/Sec     7.61k   500.00     8.50k    70.00%
  Latency Distribution
     50%  850.00us
     75%    2.00ms
     90%    3.00ms
     99%    1.20s
  75733 requests in 5.00s, 11.12MB read
  Socket errors: connect 0, read 3, write 1, timeout 0
  Non-2xx or 3xx responses: 2
Requests/sec:  15146.52
Transfer/sec:      2.22MB
`;

describe('parseWrk', () => {
  it('reads requests/s, percentiles in any unit, and every kind of failure', () => {
    expect(parseWrk(SAMPLE)).toEqual({ requests: 75733, requestsPerSecond: 15146.52, p50Ms: 0.85, p99Ms: 1200, failed: 6 });
  });

  it('counts no failure when wrk reports none', () => {
    expect(parseWrk(SAMPLE.replace(/\s+Socket errors.*\n/, '\n').replace(/\s+Non-2xx.*\n/, '\n')).failed).toBe(0);
  });
});
