/**
 * The cluster DNS server the agent runs for its pods, over UDP (node:dgram) and TCP (node:net),
 * with `dns-packet` for the wire format.
 *
 * Names in the cluster zone (`cluster.local`) are answered from Services and Endpoints
 * (`dns-zone.ts`), authoritatively, with a short TTL. Everything else is relayed unchanged to
 * the host's resolvers (from /etc/resolv.conf; a resolver on loopback works, the agent runs on
 * the host), each tried in turn with a time limit: UDP questions over UDP (a truncated answer
 * makes the client ask again over TCP), TCP questions over TCP. SERVFAIL when none answers.
 *
 * Pods reach it through the cluster DNS Service's ClusterIP: the service proxy sends VIP:53 to
 * this server's ports.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import type { Logger } from '../../src/util/logger.js';
import {
  answerFromZone,
  CLUSTER_DOMAIN,
  inZone,
  reverseFromZone,
  type ZoneAnswer,
  type ZoneData,
} from './dns-zone.js';

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
type Rcode = keyof typeof RCODES;

/** Largest UDP answer without EDNS (RFC 1035). */
const UDP_LIMIT = 512;
/** Largest UDP answer we send when the client announces more with EDNS. */
const UDP_EDNS_LIMIT = 1232;

export interface Upstream {
  host: string;
  port: number;
}

export interface DnsServerOptions {
  zone: ZoneData;
  domain?: string;
  /** Resolvers for names outside the zone, tried in order. */
  upstreams: readonly Upstream[];
  /** Where to listen; port 0 picks one (UDP and TCP on the same port when it is free). */
  listen: { host: string; port: number };
  /** Per upstream attempt. Default 2 s. */
  upstreamTimeoutMs?: number;
  /** Questions relayed at once; beyond, SERVFAIL at once. Default 512. */
  maxInflight?: number;
  logger: Logger;
}

export interface DnsAddress {
  host: string;
  port: number;
}

function flagsOf(query: DecodedPacket, rcode: Rcode, authoritative: boolean): number {
  return (
    (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
    dnsPacket.RECURSION_AVAILABLE |
    RCODES[rcode]
  );
}

/** A response to `query` with these sections (no EDNS). */
export function encodeResponse(
  query: DecodedPacket,
  rcode: Rcode,
  sections: { answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[] } = {},
  options: { authoritative?: boolean; maxBytes?: number } = {},
): Buffer {
  const packet: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags: flagsOf(query, rcode, options.authoritative ?? false),
    questions: query.questions ?? [],
    answers: sections.answers ?? [],
    authorities: sections.authorities ?? [],
    additionals: sections.additionals ?? [],
  };
  const out = dnsPacket.encode(packet);
  if (options.maxBytes === undefined || out.length <= options.maxBytes) return out;
  // Too big for UDP: truncated, so the client asks again over TCP.
  return dnsPacket.encode({
    ...packet,
    flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
    additionals: [],
  });
}

function udpLimit(query: DecodedPacket): number {
  const opt = (query.additionals ?? []).find((r) => r.type === 'OPT') as
    { udpPayloadSize?: number } | undefined;
  const size = opt?.udpPayloadSize ?? 0;
  return size > UDP_LIMIT ? Math.min(size, UDP_EDNS_LIMIT) : UDP_LIMIT;
}

export class DnsServer {
  readonly #zone: ZoneData;
  readonly #domain: string;
  #upstreams: readonly Upstream[];
  readonly #timeoutMs: number;
  readonly #maxInflight: number;
  readonly #log: Logger;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #connections = new Set<net.Socket>();
  /** Ends each relay in flight (on close). */
  readonly #pending = new Set<() => void>();
  #inflight = 0;
  #closed = false;

  private constructor(options: DnsServerOptions, udp: dgram.Socket, tcp: net.Server) {
    this.#zone = options.zone;
    this.#domain = options.domain ?? CLUSTER_DOMAIN;
    this.#upstreams = options.upstreams;
    this.#timeoutMs = options.upstreamTimeoutMs ?? 2000;
    this.#maxInflight = options.maxInflight ?? 512;
    this.#log = options.logger;
    this.#udp = udp;
    this.#tcp = tcp;
  }

  /** Resolvers for names outside the zone from now on (questions in flight keep theirs). */
  setUpstreams(upstreams: readonly Upstream[]): void {
    this.#upstreams = upstreams;
  }

  /** Listens on UDP and TCP; rejects when either cannot bind. */
  static async start(options: DnsServerOptions): Promise<DnsServer> {
    const family = isIPv6(options.listen.host) ? 'udp6' : 'udp4';
    const udp = dgram.createSocket({ type: family, reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: options.listen.host, port: options.listen.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const udpPort = udp.address().port;
    const tcp = net.createServer();
    tcp.maxConnections = 256;
    const listenTcp = (port: number): Promise<void> =>
      new Promise((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: options.listen.host, port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    try {
      try {
        await listenTcp(udpPort);
      } catch (err) {
        // The UDP port was picked for us and is taken for TCP: any free TCP port will do.
        if (options.listen.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE')
          throw err;
        await listenTcp(0);
      }
    } catch (err) {
      udp.close();
      throw err;
    }
    const server = new DnsServer(options, udp, tcp);
    server.#serve();
    return server;
  }

  get udpAddress(): DnsAddress {
    const a = this.#udp.address();
    return { host: a.address, port: a.port };
  }

  get tcpAddress(): DnsAddress {
    const a = this.#tcp.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  #serve(): void {
    this.#udp.on('message', (msg, rinfo) => {
      void this.#answer(msg, 'udp').then((reply) => {
        if (reply && !this.#closed) {
          this.#udp.send(reply, rinfo.port, rinfo.address, (err) => {
            if (err) this.#log.debug({ err: err.message }, 'cannot send a DNS answer');
          });
        }
      });
    });
    this.#udp.on('error', (err) => this.#log.warn({ err: err.message }, 'DNS UDP socket error'));
    this.#tcp.on('connection', (socket) => this.#serveTcp(socket));
    this.#tcp.on('error', (err) => this.#log.warn({ err: err.message }, 'DNS TCP server error'));
  }

  #serveTcp(socket: net.Socket): void {
    this.#connections.add(socket);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > 70_000) {
        socket.destroy();
        return;
      }
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        void this.#answer(Buffer.from(msg), 'tcp').then((reply) => {
          if (!reply || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        });
      }
    });
  }

  /** The reply to one message, or undefined to say nothing. */
  async #answer(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    if (query.type === 'response') return undefined;
    const limit = transport === 'udp' ? udpLimit(query) : undefined;
    const opcode = (query as { opcode?: string }).opcode;
    if (opcode !== undefined && opcode !== 'QUERY') {
      return encodeResponse({ ...query, questions: [] }, 'NOTIMP');
    }
    const questions = query.questions ?? [];
    if (questions.length !== 1) return encodeResponse(query, 'FORMERR');
    const question = questions[0]!;
    if (inZone(question.name, this.#domain)) {
      return this.#fromZone(query, question, limit, () =>
        answerFromZone(question, this.#zone, this.#domain),
      );
    }
    const reverse = this.#reverse(question);
    if (reverse) return this.#fromZone(query, question, limit, () => reverse);
    return this.#forward(query, msg, transport);
  }

  /** A PTR the zone answers (a Service's address), else undefined: the upstream's question. */
  #reverse(question: Question): ZoneAnswer | undefined {
    try {
      return reverseFromZone(question, this.#zone, this.#domain);
    } catch (err) {
      this.#log.warn(
        { err: (err as Error).message, name: question.name },
        'DNS reverse lookup failed',
      );
      return undefined;
    }
  }

  #fromZone(
    query: DecodedPacket,
    question: Question,
    limit: number | undefined,
    lookup: () => ZoneAnswer,
  ): Buffer {
    try {
      const answer = lookup();
      return encodeResponse(query, answer.rcode, answer, {
        authoritative: true,
        ...(limit === undefined ? {} : { maxBytes: limit }),
      });
    } catch (err) {
      this.#log.warn(
        { err: (err as Error).message, name: question.name },
        'DNS zone lookup failed',
      );
      return encodeResponse(query, 'SERVFAIL');
    }
  }

  async #forward(
    query: DecodedPacket,
    msg: Buffer,
    transport: 'udp' | 'tcp',
  ): Promise<Buffer | undefined> {
    const upstreams = this.#upstreams;
    if (this.#inflight >= this.#maxInflight || upstreams.length === 0) {
      return encodeResponse(query, 'SERVFAIL');
    }
    this.#inflight += 1;
    try {
      for (const upstream of upstreams) {
        if (this.#closed) return undefined;
        const reply =
          transport === 'udp'
            ? await this.#exchangeUdp(msg, upstream)
            : await this.#exchangeTcp(msg, upstream);
        if (reply) return reply;
      }
      this.#log.debug({ name: query.questions?.[0]?.name }, 'no upstream resolver answered');
      return encodeResponse(query, 'SERVFAIL');
    } finally {
      this.#inflight -= 1;
    }
  }

  #exchangeUdp(msg: Buffer, upstream: Upstream): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const socket = dgram.createSocket(isIPv6(upstream.host) ? 'udp6' : 'udp4');
      const id = msg.readUInt16BE(0);
      let done = false;
      const finish = (reply: Buffer | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#pending.delete(abort);
        try {
          socket.close();
        } catch {
          // Closed already (the server is shutting down).
        }
        resolve(reply);
      };
      const abort = (): void => finish(undefined);
      this.#pending.add(abort);
      const timer = setTimeout(abort, this.#timeoutMs);
      socket.on('error', abort);
      socket.on('message', (reply, rinfo) => {
        if (rinfo.port !== upstream.port || reply.length < 12 || reply.readUInt16BE(0) !== id)
          return;
        finish(reply);
      });
      socket.send(msg, upstream.port, upstream.host, (err) => {
        if (err) finish(undefined);
      });
    });
  }

  #exchangeTcp(msg: Buffer, upstream: Upstream): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: upstream.host, port: upstream.port });
      let buffered = Buffer.alloc(0);
      let done = false;
      const finish = (reply: Buffer | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#pending.delete(abort);
        socket.destroy();
        resolve(reply);
      };
      const abort = (): void => finish(undefined);
      this.#pending.add(abort);
      const timer = setTimeout(abort, this.#timeoutMs);
      socket.on('error', abort);
      socket.on('close', abort);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          finish(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        }
      });
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(msg.length);
      socket.write(Buffer.concat([prefix, msg]));
    });
  }

  /** Stops listening; questions in flight get no answer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const abort of [...this.#pending]) abort();
    for (const c of this.#connections) c.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
  }
}
