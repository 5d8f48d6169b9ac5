import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { DnsServer, type Upstream } from './dns-server.js';
import { FakeZone } from './testing/fake-zone.js';

const zone = new FakeZone()
  .addService('shop', 'web', { clusterIP: '172.30.0.5', ports: [{ name: 'http', port: 80 }] })
  .addService(
    'shop',
    'many',
    { clusterIP: 'None' },
    Array.from({ length: 100 }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`),
  );

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A resolver on loopback that answers `*.example.test` with 192.0.2.55 over UDP and TCP. */
async function fakeUpstream(): Promise<{ upstream: Upstream; asked: string[] }> {
  const asked: string[] = [];
  const reply = (msg: Buffer): Buffer => {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0]!.name;
    asked.push(name);
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_AVAILABLE | (name.endsWith('example.test') ? 0 : 3),
      questions: q.questions,
      answers: name.endsWith('example.test')
        ? [{ type: 'A', name, ttl: 60, class: 'IN', data: '192.0.2.55' }]
        : [],
    });
  };
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udp.on('message', (msg, rinfo) => udp.send(reply(msg), rinfo.port, rinfo.address));
  const port = udp.address().port;
  const tcp = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const out = reply(chunk.subarray(2));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      socket.end(Buffer.concat([len, out]));
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', () => resolve());
  });
  closers.push(() => {
    udp.close();
    tcp.close();
  });
  return { upstream: { host: '127.0.0.1', port }, asked };
}

/** A UDP and TCP port on loopback where nothing answers. */
async function silentUpstream(): Promise<Upstream> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const tcp = net.createServer(() => undefined);
  await new Promise<void>((r) => tcp.listen(udp.address().port, '127.0.0.1', () => r()));
  closers.push(() => {
    udp.close();
    tcp.close();
  });
  return { host: '127.0.0.1', port: udp.address().port };
}

async function startServer(upstreams: Upstream[]): Promise<DnsServer> {
  const server = await DnsServer.start({
    zone,
    upstreams,
    listen: { host: '127.0.0.1', port: 0 },
    upstreamTimeoutMs: 300,
    logger: silentLogger(),
  });
  closers.push(() => server.close());
  return server;
}

let nextId = 1;
function query(name: string, type: RecordType = 'A'): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: nextId++,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
  });
}

function askUdp(server: DnsServer, msg: Buffer): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP answer'));
    }, 3000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(reply));
    });
    socket.send(msg, server.udpAddress.port, '127.0.0.1');
  });
}

/** Sends the messages on one TCP connection; resolves with the answers in order. */
function askTcp(server: DnsServer, msgs: Buffer[]): Promise<DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.tcpAddress.port, '127.0.0.1');
    const answers: DecodedPacket[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no TCP answer'));
    }, 3000);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        answers.push(dnsPacket.decode(buffered.subarray(2, 2 + len)));
        buffered = buffered.subarray(2 + len);
      }
      if (answers.length === msgs.length) {
        clearTimeout(timer);
        socket.end();
        resolve(answers.sort((a, b) => (a.id ?? 0) - (b.id ?? 0)));
      }
    });
    socket.on('error', reject);
    for (const msg of msgs) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      socket.write(Buffer.concat([len, msg]));
    }
  });
}

function rcode(p: DecodedPacket): string {
  return (p as { rcode?: string }).rcode ?? '';
}

describe('DnsServer', () => {
  it('answers cluster names authoritatively over UDP', async () => {
    const server = await startServer([]);
    const msg = query('web.shop.svc.cluster.local');
    const a = await askUdp(server, msg);
    expect(a.id).toBe(msg.readUInt16BE(0));
    expect(a.type).toBe('response');
    expect([a.flag_aa, a.flag_rd, a.flag_ra]).toEqual([true, true, true]);
    expect(rcode(a)).toBe('NOERROR');
    expect(a.answers).toMatchObject([
      { type: 'A', name: 'web.shop.svc.cluster.local', data: '172.30.0.5', ttl: 5 },
    ]);
    const nx = await askUdp(server, query('nope.shop.svc.cluster.local'));
    expect(rcode(nx)).toBe('NXDOMAIN');
    expect(nx.authorities?.[0]?.type).toBe('SOA');
    const aaaa = await askUdp(server, query('web.shop.svc.cluster.local', 'AAAA'));
    expect(rcode(aaaa)).toBe('NOERROR');
    expect(aaaa.answers).toEqual([]);
  });

  it('answers over TCP, several questions on one connection', async () => {
    const server = await startServer([]);
    const [a, b] = await askTcp(server, [
      query('web.shop.svc.cluster.local'),
      query('x.shop.svc.cluster.local'),
    ]);
    expect(a!.answers).toMatchObject([{ data: '172.30.0.5' }]);
    expect(rcode(b!)).toBe('NXDOMAIN');
  });

  it('truncates what does not fit in UDP; TCP gets it all', async () => {
    const server = await startServer([]);
    const udp = await askUdp(server, query('many.shop.svc.cluster.local'));
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const [tcp] = await askTcp(server, [query('many.shop.svc.cluster.local')]);
    expect(tcp!.flag_tc).toBe(false);
    expect(tcp!.answers).toHaveLength(100);
  });

  it('forwards other names to the first upstream that answers, over UDP and TCP', async () => {
    const { upstream, asked } = await fakeUpstream();
    const server = await startServer([await silentUpstream(), upstream]);
    const a = await askUdp(server, query('www.example.test'));
    expect(a.answers).toMatchObject([{ type: 'A', data: '192.0.2.55' }]);
    expect(a.flag_aa).toBe(false);
    const [t] = await askTcp(server, [query('api.example.test')]);
    expect(t!.answers).toMatchObject([{ type: 'A', data: '192.0.2.55' }]);
    const nx = await askUdp(server, query('unknown.invalid'));
    expect(rcode(nx)).toBe('NXDOMAIN');
    expect(asked).toEqual(['www.example.test', 'api.example.test', 'unknown.invalid']);
  });

  it("answers reverse lookups of Services' addresses and forwards the others", async () => {
    const { upstream, asked } = await fakeUpstream();
    const server = await startServer([upstream]);
    const mine = await askUdp(server, query('5.0.30.172.in-addr.arpa', 'PTR'));
    expect(mine.flag_aa).toBe(true);
    expect(mine.answers).toMatchObject([{ type: 'PTR', data: 'web.shop.svc.cluster.local' }]);
    await askUdp(server, query('1.2.0.192.in-addr.arpa', 'PTR'));
    expect(asked).toEqual(['1.2.0.192.in-addr.arpa']);
  });

  it('forwards to the upstreams it was last given', async () => {
    const first = await fakeUpstream();
    const second = await fakeUpstream();
    const server = await startServer([first.upstream]);
    await askUdp(server, query('one.example.test'));
    server.setUpstreams([second.upstream]);
    const a = await askUdp(server, query('two.example.test'));
    expect(a.answers).toMatchObject([{ type: 'A', data: '192.0.2.55' }]);
    expect(first.asked).toEqual(['one.example.test']);
    expect(second.asked).toEqual(['two.example.test']);
  });

  it('says SERVFAIL when no upstream answers', async () => {
    const server = await startServer([await silentUpstream()]);
    expect(rcode(await askUdp(server, query('www.example.test')))).toBe('SERVFAIL');
    const [t] = await askTcp(server, [query('www.example.test')]);
    expect(rcode(t!)).toBe('SERVFAIL');
    const none = await startServer([]);
    expect(rcode(await askUdp(none, query('www.example.test')))).toBe('SERVFAIL');
  });

  it('refuses what is not one standard query', async () => {
    const server = await startServer([]);
    const two = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [
        { type: 'A', name: 'a.cluster.local' },
        { type: 'A', name: 'b.cluster.local' },
      ],
    });
    expect(rcode(await askUdp(server, two))).toBe('FORMERR');
  });
});
