// The HAProxy config of the userspace bench: what it says, that HAProxy itself accepts it
// (`haproxy -c`), and that no bad address, port or name reaches the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../kernel/exec.js';
import { HaproxyError } from '../kernel/haproxy-process.js';
import { haproxyConfig, type HaproxyFrontend } from './haproxy-config.js';

const good: HaproxyFrontend = { name: 'short', bindIP: '192.168.77.1', bindPort: 18080, endpoints: [{ ip: '10.244.1.11', port: 8080 }, { ip: 'fd00::5', port: 8080 }] };

describe('haproxyConfig', () => {
  it('is a TCP round-robin frontend per service port, every endpoint a server', () => {
    const text = haproxyConfig([good]);
    expect(text).toContain('  mode tcp\n');
    expect(text).toContain('  balance roundrobin\n');
    expect(text).toContain('frontend short\n  bind 192.168.77.1:18080\n  default_backend short\n');
    expect(text).toContain('backend short\n  server e0 10.244.1.11:8080\n  server e1 [fd00::5]:8080\n');
  });

  it('is accepted by haproxy -c', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-usbench-cfg-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig([good, { ...good, name: 'bulk', bindPort: 18090 }]));
      const r = await runCommand('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')]);
      expect(r.stderr + r.stdout).not.toMatch(/ALERT/);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ ...good, bindIP: '192.168.77.1\n  server evil 1.2.3.4:1' }, /frontend short bindIP: .* is not an IP address/],
    [{ ...good, endpoints: [{ ip: '10.0.0.1:80', port: 80 }] }, /frontend short endpoints\[0\]\.ip: "10\.0\.0\.1:80" is not an IP address/],
    [{ ...good, endpoints: [{ ip: '10.0.0.1', port: 70000 }] }, /frontend short endpoints\[0\]\.port: 70000 is not a port/],
    [{ ...good, bindPort: 0 }, /frontend short bindPort: 0 is not a port/],
    [{ ...good, name: 'a b\nfrontend x' }, /frontend name .* is not \[a-z0-9-\]/],
    [{ ...good, endpoints: [] }, /frontend short: no endpoints/],
  ])('refuses %j with a HaproxyError naming the field', (frontend, message) => {
    expect(() => haproxyConfig([frontend])).toThrow(HaproxyError);
    expect(() => haproxyConfig([frontend])).toThrow(message);
  });
});
