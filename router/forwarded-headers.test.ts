import { describe, expect, it } from 'vitest';
import { plainIp, requestHeaders, responseHeaders } from './forwarded-headers.js';

function asMap(flat: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return out;
}

const ctx = {
  clientIp: '203.0.113.7',
  host: 'shop.example.com:8080',
  port: 80,
  proto: 'http' as const,
};

describe('requestHeaders', () => {
  it('replaces client-supplied forwarding headers instead of appending', () => {
    const h = asMap(
      requestHeaders(
        [
          'Host',
          'SHOP.example.com:8080',
          'X-Forwarded-For',
          '1.2.3.4',
          'x-forwarded-for',
          '5.6.7.8',
          'X-Forwarded-Host',
          'evil.example.com',
          'X-Forwarded-Proto',
          'https',
          'X-Forwarded-Port',
          '443',
          'Forwarded',
          'for=1.2.3.4',
          'Accept',
          'text/html',
        ],
        ctx,
      ),
    );
    expect(h['x-forwarded-for']).toEqual(['203.0.113.7']);
    expect(h['x-forwarded-host']).toEqual(['shop.example.com:8080']);
    expect(h['x-forwarded-proto']).toEqual(['http']);
    expect(h['x-forwarded-port']).toEqual(['80']);
    expect(h.forwarded).toEqual(['for=203.0.113.7;host="shop.example.com:8080";proto=http']);
    expect(h.host).toEqual(['shop.example.com:8080']);
    expect(h.accept).toEqual(['text/html']);
  });

  it('drops hop-by-hop headers, those named by Connection, and Expect', () => {
    const h = asMap(
      requestHeaders(
        [
          'Connection',
          'keep-alive, X-Internal',
          'connection',
          'Upgrade',
          'Keep-Alive',
          'timeout=5',
          'X-Internal',
          'secret',
          'Upgrade',
          'websocket',
          'Transfer-Encoding',
          'chunked',
          'TE',
          'trailers',
          'Trailer',
          'X-Sum',
          'Proxy-Authorization',
          'Basic eA==',
          'Proxy-Connection',
          'keep-alive',
          'Expect',
          '100-continue',
          'Cookie',
          'a=1',
          'Cookie',
          'b=2',
          'Content-Length',
          '5',
        ],
        ctx,
      ),
    );
    for (const gone of [
      'connection',
      'keep-alive',
      'x-internal',
      'upgrade',
      'transfer-encoding',
      'te',
      'trailer',
      'proxy-authorization',
      'proxy-connection',
      'expect',
    ]) {
      expect(h[gone], gone).toBeUndefined();
    }
    expect(h.cookie).toEqual(['a=1', 'b=2']);
    expect(h['content-length']).toEqual(['5']);
  });

  it('writes IPv6 clients as RFC 7239 asks', () => {
    const h = asMap(
      requestHeaders([], {
        ...ctx,
        clientIp: '2001:db8::1',
        host: 'a.example.com',
        proto: 'https',
      }),
    );
    expect(h.forwarded).toEqual(['for="[2001:db8::1]";host=a.example.com;proto=https']);
  });
});

describe('responseHeaders', () => {
  it('keeps end-to-end headers, repeated ones included, and drops hop-by-hop ones', () => {
    expect(
      responseHeaders([
        'Content-Type',
        'text/plain',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'Connection',
        'close, X-Hop',
        'X-Hop',
        '1',
        'Transfer-Encoding',
        'chunked',
        'Keep-Alive',
        'timeout=5',
        'Trailer',
        'X-Sum',
        'Content-Length',
        '2',
      ]),
    ).toEqual([
      'Content-Type',
      'text/plain',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Content-Length',
      '2',
    ]);
  });
});

describe('plainIp', () => {
  it('unwraps IPv4-mapped addresses', () => {
    expect(plainIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(plainIp('::1')).toBe('::1');
    expect(plainIp(undefined)).toBe('');
  });
});
