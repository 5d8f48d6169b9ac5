import { describe, expect, it } from 'vitest';
import { parseResolvConf } from './resolv-conf.js';

describe('parseResolvConf', () => {
  it('reads nameservers in order and the last search or domain line', () => {
    expect(
      parseResolvConf(
        [
          '# generated',
          'nameserver 127.0.0.53',
          'nameserver fe80::1%eth0',
          'nameserver 10.0.0.2 ; comment',
          'domain corp.example',
          'search corp.example lab.example',
          'options edns0 trust-ad',
        ].join('\n'),
      ),
    ).toEqual({
      nameservers: ['127.0.0.53', '10.0.0.2'],
      searches: ['corp.example', 'lab.example'],
    });
    expect(parseResolvConf('')).toEqual({ nameservers: [], searches: [] });
  });
});
