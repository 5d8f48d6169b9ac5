import { describe, expect, it } from 'vitest';
import { checkRequest, type RequestHead } from './request-guards.js';

function head(rawHeaders: string[], extra: Partial<RequestHead> = {}): RequestHead {
  return { method: 'GET', url: '/', httpVersion: '1.1', rawHeaders, ...extra };
}

describe('checkRequest', () => {
  it('accepts an ordinary request and normalises its host', () => {
    expect(checkRequest(head(['Host', 'Shop.Example.com:8080'], { url: '/a?b' }))).toEqual({
      ok: true,
      host: 'shop.example.com',
      hostHeader: 'shop.example.com:8080',
      path: '/a?b',
      hasBody: false,
      cookie: undefined,
    });
  });

  it('refuses several Host headers and a missing or malformed one', () => {
    expect(checkRequest(head(['Host', 'a.example.com', 'host', 'b.example.com']))).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(checkRequest(head([]))).toMatchObject({ ok: false, status: 400 });
    expect(checkRequest(head(['Host', 'a b']))).toMatchObject({ ok: false, status: 400 });
  });

  it('refuses ambiguous framing', () => {
    const h = ['Host', 'a.example.com'];
    expect(checkRequest(head([...h, 'Content-Length', '1', 'content-length', '1']))).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(
      checkRequest(head([...h, 'Content-Length', '1', 'Transfer-Encoding', 'chunked'])),
    ).toMatchObject({ ok: false, status: 400 });
    expect(
      checkRequest(head([...h, 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'])),
    ).toMatchObject({ ok: false, status: 400 });
    expect(
      checkRequest(head([...h, 'Transfer-Encoding', 'chunked'], { httpVersion: '1.0' })),
    ).toMatchObject({ ok: false, status: 400 });
    expect(checkRequest(head([...h, 'Transfer-Encoding', 'gzip, chunked']))).toMatchObject({
      ok: false,
      status: 501,
    });
    expect(checkRequest(head([...h, 'Content-Length', '0x10']))).toMatchObject({
      ok: false,
      status: 400,
    });
  });

  it('collects the Cookie headers', () => {
    expect(
      checkRequest(head(['Host', 'a.example.com', 'Cookie', 'a=1', 'cookie', 'b=2'])),
    ).toMatchObject({ cookie: 'a=1; b=2' });
  });

  it('knows when a request has a body', () => {
    const h = ['Host', 'a.example.com'];
    expect(checkRequest(head([...h, 'Content-Length', '0']))).toMatchObject({ hasBody: false });
    expect(checkRequest(head([...h, 'Content-Length', '00']))).toMatchObject({ hasBody: false });
    expect(checkRequest(head([...h, 'Content-Length', '12']))).toMatchObject({ hasBody: true });
    expect(checkRequest(head([...h, 'Transfer-Encoding', 'Chunked']))).toMatchObject({
      hasBody: true,
    });
  });

  it('takes the authority of an absolute-form target over Host', () => {
    expect(
      checkRequest(head(['Host', 'a.example.com'], { url: 'http://B.example.com:81/x?y' })),
    ).toMatchObject({
      ok: true,
      host: 'b.example.com',
      hostHeader: 'b.example.com:81',
      path: '/x?y',
    });
    expect(
      checkRequest(head(['Host', 'a.example.com'], { url: 'http://u:p@b.example.com/' })),
    ).toMatchObject({ ok: false });
  });

  it('accepts * only for OPTIONS and refuses other request targets', () => {
    expect(
      checkRequest(head(['Host', 'a.example.com'], { method: 'OPTIONS', url: '*' })),
    ).toMatchObject({ ok: true, path: '*' });
    expect(checkRequest(head(['Host', 'a.example.com'], { url: '*' }))).toMatchObject({
      ok: false,
    });
    expect(
      checkRequest(head(['Host', 'a.example.com'], { url: 'a.example.com:443' })),
    ).toMatchObject({ ok: false });
  });
});
