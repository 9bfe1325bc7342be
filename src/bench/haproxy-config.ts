// The HAProxy config the userspace bench runs its peer with: one TCP (L4) frontend per
// service port, round robin over the endpoints, no health checks (the userspace mode
// has none either). Every address and port is validated before it is written.
import { isIP } from 'node:net';
import { HaproxyError } from '../kernel/haproxy-process.js';

export interface HaproxyEndpoint {
  readonly ip: string;
  readonly port: number;
}

export interface HaproxyFrontend {
  /** [a-z0-9-]: it becomes the frontend and backend names. */
  readonly name: string;
  readonly bindIP: string;
  readonly bindPort: number;
  readonly endpoints: readonly HaproxyEndpoint[];
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkIP(ip: string, field: string): string {
  if (isIP(ip) === 0) throw new HaproxyError(`haproxy config: ${field}: ${JSON.stringify(ip)} is not an IP address`);
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

function checkPort(port: number, field: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HaproxyError(`haproxy config: ${field}: ${String(port)} is not a port (1-65535)`);
  return port;
}

/** The whole config file; throws HaproxyError naming the frontend and field of a bad value. */
export function haproxyConfig(frontends: readonly HaproxyFrontend[], maxconn = 4096): string {
  const lines = [
    'global',
    `  maxconn ${maxconn}`,
    '  nbthread 1',
    'defaults',
    '  mode tcp',
    '  balance roundrobin',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
  ];
  for (const f of frontends) {
    if (!NAME.test(f.name)) throw new HaproxyError(`haproxy config: frontend name ${JSON.stringify(f.name)} is not [a-z0-9-]`);
    if (f.endpoints.length === 0) throw new HaproxyError(`haproxy config: frontend ${f.name}: no endpoints`);
    lines.push(`frontend ${f.name}`, `  bind ${checkIP(f.bindIP, `frontend ${f.name} bindIP`)}:${checkPort(f.bindPort, `frontend ${f.name} bindPort`)}`, `  default_backend ${f.name}`);
    lines.push(`backend ${f.name}`);
    f.endpoints.forEach((e, i) => {
      lines.push(`  server e${i} ${checkIP(e.ip, `frontend ${f.name} endpoints[${i}].ip`)}:${checkPort(e.port, `frontend ${f.name} endpoints[${i}].port`)}`);
    });
  }
  return `${lines.join('\n')}\n`;
}
