import { describe, expect, it } from 'vitest';
import { HostResolvConfError, parseHostResolvConf } from './host-resolv-conf.js';

describe('parseHostResolvConf', () => {
  it('accumulates nameservers, keeps the last search and options lines, strips one trailing dot', () => {
    const text = [
      '# generated',
      'nameserver 192.0.2.1',
      '  nameserver\t192.0.2.2   # trailing words are ignored',
      'search old.example',
      'domain ignored.example',
      'options attempts:1',
      'search corp.example. lab.example .',
      'options ndots:2 timeout:1',
      'sortlist 10.0.0.0/8',
      'nameserver 2001:db8::53',
      '',
    ].join('\n');
    expect(parseHostResolvConf(text, '/etc/resolv.conf')).toEqual({
      nameservers: ['192.0.2.1', '192.0.2.2', '2001:db8::53'],
      searches: ['corp.example', 'lab.example'],
      options: ['ndots:2', 'timeout:1'],
    });
  });

  it('an empty file gives nothing', () => {
    expect(parseHostResolvConf('', 'f')).toEqual({ nameservers: [], searches: [], options: [] });
  });

  it('a bare nameserver line is an error naming the file and line', () => {
    expect(() => parseHostResolvConf('nameserver 192.0.2.1\nnameserver\n', '/tmp/r.conf')).toThrow(HostResolvConfError);
    expect(() => parseHostResolvConf('nameserver 192.0.2.1\nnameserver  \n', '/tmp/r.conf')).toThrow('/tmp/r.conf: line 2: nameserver list is empty');
  });
});
