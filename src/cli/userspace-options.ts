// The userspace mode's own flags of `svcplane run`, checked and turned into its settings.
import { isIP } from 'node:net';
import { ConfigError } from '../agent/config.js';
import type { UserspaceSettings } from '../backends/userspace/userspace-backend.js';
import { parseDuration } from '../util/duration.js';

export function userspaceSettings(opts: Record<string, unknown>): UserspaceSettings {
  const address = opts.userspaceListenAddress;
  if (address !== undefined && (typeof address !== 'string' || isIP(address) === 0)) {
    throw new ConfigError(`--userspace-listen-address: "${String(address)}" is not an IP address`);
  }
  if (address !== undefined && opts.userspaceNoRedirect !== true) throw new ConfigError('--userspace-listen-address needs --userspace-no-redirect');
  const udp = opts.udpTimeout;
  const udpIdleTimeoutMs = typeof udp === 'string' ? parseDuration(udp, '--udp-timeout') : undefined;
  if (udpIdleTimeoutMs !== undefined && udpIdleTimeoutMs <= 0) throw new ConfigError('--udp-timeout must be positive');
  return {
    ...(opts.userspaceNoRedirect === true ? { noRedirect: address === undefined ? {} : { address } } : {}),
    ...(udpIdleTimeoutMs !== undefined ? { udpIdleTimeoutMs } : {}),
  };
}
