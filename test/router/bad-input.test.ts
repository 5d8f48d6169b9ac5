// B4: hostile bytes on raw sockets. After each case the router must still serve a normal
// request, ambiguous framing must get a 400, and the backend must never see a request the
// client tried to smuggle inside another.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createProject,
  createRoute,
  expose,
  send,
  startBackend,
  startWorld,
  untilServed,
  type Backend,
  type RouterWorld,
} from './support.js';

let world: RouterWorld;
let echo: Backend;
let rawBackend: Server;
let rawResponse = '';
let routerPort: number;

const HOST = 'bad.example.com';

/** Writes bytes, reads until the router closes the connection (or `waitMs` passes). */
async function exchange(bytes: string | Buffer, waitMs = 1500): Promise<string> {
  const socket = connect(routerPort, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return Buffer.concat(chunks).toString('latin1');
}

function statusLines(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]!);
}

/** The router answers a plain request, and the backend saw nothing smuggled. */
async function stillServing(): Promise<void> {
  const r = await send(world.router.httpUrl, { host: HOST, path: '/after' });
  expect(r.status).toBe(200);
  expect(r.json().backend).toBe('echo');
  expect(echo.seen.map((s) => s.url)).not.toContain('/smuggled');
  expect(echo.seen.map((s) => s.method)).not.toContain('SMUGGLED');
}

beforeAll(async () => {
  world = await startWorld();
  routerPort = Number(new URL(world.router.httpUrl).port);
  await createProject(world.t.admin, 'bad');
  echo = await startBackend('echo');
  await expose(world.api, 'bad', 'echo', [echo]);
  await createRoute(world.api, 'bad', 'echo', { host: HOST });
  // A backend that answers whatever bytes a test puts in rawResponse.
  rawBackend = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(rawResponse));
  });
  rawBackend.listen(0, '127.0.0.1');
  await once(rawBackend, 'listening');
  await expose(world.api, 'bad', 'raw', [{ port: (rawBackend.address() as AddressInfo).port }]);
  await createRoute(world.api, 'bad', 'raw', { host: 'raw.example.com' });
  await untilServed(world.router, 'bad/echo', 1);
  await untilServed(world.router, 'bad/raw', 1);
});

afterEach(async () => {
  await stillServing();
});

afterAll(async () => {
  await world?.close();
  await echo?.close();
  rawBackend?.close();
});

describe('requests Node refuses itself', () => {
  it('header names with spaces: 400 and the connection closes', async () => {
    const out = await exchange(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nBad Header: x\r\n\r\n`);
    expect(statusLines(out)).toEqual(['400']);
  });

  it('Content-Length with Transfer-Encoding (CL.TE): 400, nothing smuggled', async () => {
    const smuggle =
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    expect(statusLines(await exchange(smuggle))).toEqual(['400']);
    const reversed =
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n` +
      `0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    expect(statusLines(await exchange(reversed))).toEqual(['400']);
  });

  it('duplicate Content-Length, equal or not: 400', async () => {
    for (const second of ['5', '6']) {
      const out = await exchange(
        `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nContent-Length: ${second}\r\n\r\nhello`,
      );
      expect(statusLines(out)).toEqual(['400']);
    }
  });

  it('a missing Host in HTTP/1.1 and HTTP/1.0: 400', async () => {
    expect(statusLines(await exchange('GET / HTTP/1.1\r\n\r\n'))).toEqual(['400']);
    expect(statusLines(await exchange('GET / HTTP/1.0\r\n\r\n'))).toEqual(['400']);
  });

  it('obsolete line folding, NUL and bare LF in headers, malformed chunks: 400', async () => {
    const cases = [
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Folded: a\r\n b\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Nul: a\u0000b\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-A: 1\nX-B: 2\r\n\r\n`,
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: +5\r\n\r\nhello`,
    ];
    for (const bytes of cases) expect(statusLines(await exchange(bytes)), bytes).toEqual(['400']);
  });

  it('oversized headers: 431', async () => {
    const out = await exchange(
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`,
    );
    expect(statusLines(out)).toEqual(['431']);
  });
});

describe('what the router checks itself', () => {
  it('more than one Host header: 400', async () => {
    const out = await exchange(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nHost: raw.example.com\r\n\r\n`);
    expect(statusLines(out)).toEqual(['400']);
  });

  it('transfer codings other than chunked: 501; Transfer-Encoding in HTTP/1.0: 400', async () => {
    const gzip = await exchange(
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    );
    expect(statusLines(gzip)).toEqual(['501']);
    const old = await exchange(
      `POST / HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    expect(statusLines(old)).toEqual(['400']);
  });

  it('CONNECT, non-path targets and non-WebSocket upgrades: 400', async () => {
    expect(
      statusLines(await exchange(`CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`)),
    ).toEqual(['400']);
    expect(
      statusLines(await exchange(`GET bad.example.com/ HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`)),
    ).toEqual(['400']);
    const h2c = await exchange(
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    );
    expect(statusLines(h2c)).toEqual(['400']);
  });

  it('absolute-form targets are routed by their own authority, never by Host', async () => {
    const out = await exchange(
      `GET http://nobody.example.com/smuggled HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    );
    expect(statusLines(out)).toEqual(['503']);
    const ok = await exchange(
      `GET http://${HOST}/absolute HTTP/1.1\r\nHost: raw.example.com\r\nConnection: close\r\n\r\n`,
    );
    expect(statusLines(ok)).toEqual(['200']);
    expect(echo.seen.at(-1)?.url).toBe('/absolute');
    expect(echo.seen.at(-1)?.headers.host).toBe(HOST);
  });
});

describe('requests that are valid and must arrive intact', () => {
  it('Trailer on a GET without a body is proxied, without the Trailer header', async () => {
    const out = await exchange(
      `GET /trailer HTTP/1.1\r\nHost: ${HOST}\r\nTrailer: X-Checksum\r\nConnection: close\r\n\r\n`,
    );
    expect(statusLines(out)).toEqual(['200']);
    const seen = echo.seen.at(-1)!;
    expect(seen.url).toBe('/trailer');
    expect(seen.headers.trailer).toBeUndefined();
  });

  it('chunked DELETE and OPTIONS reach the backend framed, their bodies as bodies', async () => {
    for (const method of ['DELETE', 'OPTIONS']) {
      const inner = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
      const chunk = `${inner.length.toString(16)}\r\n${inner}\r\n`;
      const before = echo.seen.length;
      const out = await exchange(
        `${method} /items/1 HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}0\r\n\r\n`,
      );
      expect(statusLines(out)).toEqual(['200']);
      expect(echo.seen.length).toBe(before + 1);
      const seen = echo.seen.at(-1)!;
      expect(seen.method).toBe(method);
      expect(seen.body).toBe(inner);
    }
  });

  it('a request smuggled after a chunked body on one connection is parsed by the router', async () => {
    // Pipelined: the second request is a request to the router, routed on its own merits.
    const out = await exchange(
      `POST /first HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n` +
        `GET /second HTTP/1.1\r\nHost: nobody.example.com\r\nConnection: close\r\n\r\n`,
    );
    expect(statusLines(out)).toEqual(['200', '503']);
    expect(echo.seen.map((s) => s.url)).not.toContain('/second');
  });
});

describe('bad responses from the backend', () => {
  const request = `GET / HTTP/1.1\r\nHost: raw.example.com\r\nConnection: close\r\n\r\n`;

  it('control characters in a response header: 502', async () => {
    rawResponse = 'HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\nok';
    expect(statusLines(await exchange(request))).toEqual(['502']);
  });

  it('a response with Content-Length and Transfer-Encoding, or a garbled status line: 502', async () => {
    rawResponse =
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n';
    expect(statusLines(await exchange(request))).toEqual(['502']);
    rawResponse = 'HTTP/9 banana\r\n\r\n';
    expect(statusLines(await exchange(request))).toEqual(['502']);
  });

  it('a connection reset before answering: 502', async () => {
    rawResponse = '';
    expect(statusLines(await exchange(request))).toEqual(['502']);
  });

  it('a header name Node will not send: 502, never a crash', async () => {
    rawResponse = 'HTTP/1.1 200 OK\r\nX Bad: 1\r\nContent-Length: 2\r\n\r\nok';
    expect(statusLines(await exchange(request))).toEqual(['502']);
  });
});
