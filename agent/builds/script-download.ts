/**
 * Downloads an S2I script from an http(s) URL on the node: a time limit, a size limit, no
 * redirects, and (unless the agent allows local URLs, as tests do) never from the node itself,
 * loopback or link-local addresses (cloud metadata services), checked on the address actually
 * connected to. A 404 means "not here" (undefined), so the lookup moves on to the next place.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isIP } from 'node:net';
import { redactCredentials } from '../../src/api/git-source.js';

export interface DownloadOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** Allow loopback and link-local addresses (tests). */
  allowLocal?: boolean;
  signal?: AbortSignal;
}

export class ScriptDownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptDownloadError';
  }
}

/** Loopback, link-local, unspecified: addresses a build must not make the node fetch from. */
export function isForbiddenAddress(address: string): boolean {
  const v4 = isIP(address) === 4 ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) {
    const [a, b] = v4.split('.').map(Number) as [number, number];
    return a === 127 || a === 0 || (a === 169 && b === 254);
  }
  const lower = address.toLowerCase();
  return lower === '::1' || lower === '::' || /^fe[89ab][0-9a-f]:/.test(lower);
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function guardedLookup(allowLocal: boolean) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, []);
        return;
      }
      const list = addresses;
      if (!allowLocal && list.some((a) => isForbiddenAddress(a.address))) {
        const e = new Error(`${hostname} resolves to an address builds may not reach`);
        callback(e, []);
        return;
      }
      if ((options as { all?: boolean }).all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** The body at `url`, undefined on 404; ScriptDownloadError otherwise. */
export function downloadScript(
  url: string,
  options: DownloadOptions = {},
): Promise<Buffer | undefined> {
  const shown = redactCredentials(url);
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const allowLocal = options.allowLocal ?? false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new ScriptDownloadError(`"${shown}" is not a URL`));
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return Promise.reject(new ScriptDownloadError(`"${shown}" is not an http(s) URL`));
  }
  const literal = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!allowLocal && isIP(literal) && isForbiddenAddress(literal)) {
    return Promise.reject(
      new ScriptDownloadError(`cannot download "${shown}": builds may not reach that address`),
    );
  }
  const get = parsed.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise<Buffer | undefined>((resolve, reject) => {
    const fail = (why: string): void =>
      reject(new ScriptDownloadError(`cannot download "${shown}": ${why}`));
    const req = get(
      parsed,
      {
        lookup: guardedLookup(allowLocal),
        timeout: timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        headers: { 'User-Agent': 'slipway-agent' },
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status === 404) {
          res.resume();
          resolve(undefined);
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          fail(
            `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`,
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy();
            fail(`larger than ${maxBytes} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', (err) => fail(err.message));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      fail(`no answer within ${Math.round(timeoutMs / 1000)} s`);
    });
    req.on('error', (err) => fail(err.message));
  });
}
