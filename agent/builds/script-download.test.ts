import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadScript, isForbiddenAddress, ScriptDownloadError } from './script-download.js';

let url = '';
let server: ReturnType<typeof createServer>;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/s2i/assemble') res.end('#!/bin/sh\n');
    else if (req.url === '/s2i/big') res.end('x'.repeat(2048));
    else if (req.url === '/s2i/moved')
      res.writeHead(302, { Location: 'http://169.254.169.254/' }).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('script downloads', () => {
  it('knows the addresses a build must not make the node fetch from', () => {
    for (const a of [
      '127.0.0.1',
      '127.8.9.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isForbiddenAddress(a), a).toBe(true);
    }
    for (const a of ['10.0.0.1', '192.0.2.2', '2001:db8::1'])
      expect(isForbiddenAddress(a), a).toBe(false);
  });

  it('refuses loopback unless allowed, gives undefined for 404, and limits size and redirects', async () => {
    await expect(downloadScript(`${url}/s2i/assemble`)).rejects.toBeInstanceOf(ScriptDownloadError);
    await expect(downloadScript(`http://localhost:1/s2i/assemble`)).rejects.toThrow(
      /may not reach/,
    );
    const ok = { allowLocal: true };
    expect((await downloadScript(`${url}/s2i/assemble`, ok))?.toString()).toBe('#!/bin/sh\n');
    expect(await downloadScript(`${url}/s2i/run`, ok)).toBeUndefined();
    await expect(downloadScript(`${url}/s2i/big`, { ...ok, maxBytes: 1024 })).rejects.toThrow(
      /larger than/,
    );
    await expect(downloadScript(`${url}/s2i/moved`, ok)).rejects.toThrow(
      /redirects are not followed/,
    );
  });
});
