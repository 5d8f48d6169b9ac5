/**
 * Header rewriting between client and backend. Hop-by-hop headers (and those a Connection
 * header names) never cross the router; X-Forwarded-For/-Host/-Port/-Proto and Forwarded are
 * set by the router from what it saw, replacing whatever the client sent (a client cannot
 * pretend to come from elsewhere). Headers are flat `[name, value, name, value, ...]` lists, as
 * Node's rawHeaders.
 */

/** RFC 9110 hop-by-hop headers, plus ones the router consumes itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers the router sets (or answers, like Expect) and so drops from the client. */
const SET_BY_ROUTER = new Set([
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-proto',
]);

export interface ForwardContext {
  /** The client's address as the router's socket saw it. */
  clientIp: string;
  /** The Host the client asked for, lower case (port kept, as sent). */
  host: string;
  /** The port of the router's listener the client reached. */
  port: number;
  proto: 'http' | 'https';
}

/** Names listed in Connection headers: `Connection: close, X-Secret` drops X-Secret too. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) (tokens ??= new Set()).add(t);
    }
  }
  return tokens;
}

/** `::ffff:10.0.0.1` -> `10.0.0.1`. */
export function plainIp(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** RFC 7239 node: IPv6 addresses quoted and bracketed. */
function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/** RFC 7239 values are tokens or quoted strings. */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)
    ? value
    : `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The headers a backend receives for a client request. */
export function requestHeaders(raw: readonly string[], ctx: ForwardContext): string[] {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || SET_BY_ROUTER.has(lower) || drop?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push(
    'host',
    ctx.host,
    'x-forwarded-host',
    ctx.host,
    'x-forwarded-port',
    String(ctx.port),
    'x-forwarded-proto',
    ctx.proto,
    'x-forwarded-for',
    ctx.clientIp,
    'forwarded',
    `for=${forwardedNode(ctx.clientIp)};host=${forwardedValue(ctx.host)};proto=${ctx.proto}`,
  );
  return out;
}

/** The headers a client receives from a backend response (framing is the router's own). */
export function responseHeaders(raw: readonly string[]): string[] {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}
