import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MAX_HELLO_BYTES, readClientHello } from './client-hello.js';

/** The first bytes a real TLS client (Node's) sends, with `servername` as SNI if given. */
async function realHello(servername?: string): Promise<Buffer> {
  let resolveHello!: (b: Buffer) => void;
  const hello = new Promise<Buffer>((resolve) => (resolveHello = resolve));
  const server = createServer((socket: Socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (readClientHello(all).kind !== 'incomplete') {
        resolveHello(all);
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const client = connect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    ...(servername !== undefined ? { servername } : {}),
  });
  client.on('error', () => undefined);
  try {
    return await hello;
  } finally {
    client.destroy();
    server.close();
  }
}

describe('readClientHello', () => {
  it("reads the server name of a real client's hello, whole or as it arrives", async () => {
    const hello = await realHello('app-ns.apps.example.com');
    expect(readClientHello(hello)).toEqual({ kind: 'hello', name: 'app-ns.apps.example.com' });
    // Any prefix is incomplete, never wrong.
    for (const n of [1, 4, 5, 6, 40, hello.length - 1]) {
      expect(readClientHello(hello.subarray(0, n)), `first ${n} bytes`).toEqual({
        kind: 'incomplete',
      });
    }
    // Bytes after the hello (the client's next flight) change nothing.
    expect(readClientHello(Buffer.concat([hello, Buffer.from([23, 3, 3, 0, 1, 0])]))).toEqual({
      kind: 'hello',
      name: 'app-ns.apps.example.com',
    });
  });

  it('says when a hello has no server name (an IP address was dialled)', async () => {
    expect(readClientHello(await realHello(''))).toEqual({ kind: 'hello', name: undefined });
  });

  it('reads a hello split over two TLS records', async () => {
    const hello = await realHello('split.example.com');
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const record = (part: Buffer) =>
      Buffer.concat([Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part]);
    const split = Buffer.concat([record(body.subarray(0, 50)), record(body.subarray(50))]);
    expect(readClientHello(split)).toEqual({ kind: 'hello', name: 'split.example.com' });
    expect(readClientHello(split.subarray(0, 60))).toEqual({ kind: 'incomplete' });
  });

  it('calls anything else invalid', async () => {
    const hello = await realHello('x.example.com');
    const corrupt = (at: number, value: number): Buffer => {
      const copy = Buffer.from(hello);
      copy[at] = value;
      return copy;
    };
    const cases: [string, Buffer][] = [
      ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['an alert record', Buffer.from([21, 3, 1, 0, 2, 2, 40])],
      ['a bad record version', corrupt(1, 9)],
      ['a zero-length record', Buffer.from([22, 3, 1, 0, 0])],
      ['a ServerHello', corrupt(5, 2)],
      ['a session id longer than the hello', corrupt(5 + 4 + 34, 0xff)],
    ];
    for (const [what, data] of cases) {
      expect(readClientHello(data).kind, what).toBe('invalid');
    }
    // A server name with characters no DNS name has.
    const name = Buffer.from('x.example.com');
    const at = hello.indexOf(name);
    const bad = Buffer.from(hello);
    bad[at + 1] = 0x00;
    expect(readClientHello(bad)).toEqual({ kind: 'invalid', reason: 'bad server name' });
    // A handshake that claims to go on for ever is cut off at the limit.
    const endless = Buffer.alloc(MAX_HELLO_BYTES);
    for (let i = 0; i < endless.length; i += 16_389) {
      endless.set([22, 3, 1, 0x40, 0x00], i);
    }
    endless.set([1, 0xff, 0xff, 0xff], 5);
    expect(readClientHello(endless)).toEqual({ kind: 'invalid', reason: 'ClientHello too large' });
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const data = Buffer.from(
        Array.from({ length: 1 + (i % 300) }, () => Math.floor(Math.random() * 256)),
      );
      if (i % 3 === 0) data.set([22, 3, 1].slice(0, data.length), 0);
      if (i % 6 === 0 && data.length > 9) data.set([1], 5);
      expect(() => readClientHello(data)).not.toThrow();
    }
  });
});
