/**
 * Checks on a parsed request before anything is routed (B4). Node's parser is strict (and
 * `insecureHTTPParser` stays off), which already turns malformed heads, header names with
 * spaces, CL+TE and bad chunking into client errors. These checks close what it lets through:
 * several Host headers (Node keeps the first silently), duplicate Content-Length, transfer
 * codings other than chunked, Transfer-Encoding in HTTP/1.0, and request targets that are not
 * origin-form paths.
 */
import { normalizeHost } from './host.js';

export interface RequestHead {
  method?: string | undefined;
  url?: string | undefined;
  httpVersion: string;
  rawHeaders: readonly string[];
}

export type Checked =
  | {
      ok: true;
      /** The normalised host the route table is looked up by. */
      host: string;
      /** The Host to send on, lower case, port kept. */
      hostHeader: string;
      /** Origin-form target: `/path?query` (or `*`). */
      path: string;
      /** The request carries a body (Content-Length > 0 or chunked). */
      hasBody: boolean;
      /** The Cookie header(s), joined (read here: `req.headers` would build an object). */
      cookie: string | undefined;
    }
  | { ok: false; status: 400 | 501; reason: string };

function bad(reason: string): Checked {
  return { ok: false, status: 400, reason };
}

export function checkRequest(req: RequestHead): Checked {
  let host: string | undefined;
  let hosts = 0;
  let lengths = 0;
  let length = '';
  let encodings = 0;
  let encoding = '';
  let cookie: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Cheap length test first: this loop runs on every request.
    switch (name.length) {
      case 6:
        if (name.toLowerCase() === 'cookie') {
          cookie = cookie === undefined ? raw[i + 1] : `${cookie}; ${raw[i + 1]}`;
        }
        break;
      case 4:
        if (name.toLowerCase() === 'host') {
          hosts++;
          host = raw[i + 1];
        }
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          lengths++;
          length = raw[i + 1]!;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          encodings++;
          encoding = raw[i + 1]!;
        }
        break;
    }
  }
  if (hosts > 1) return bad('more than one Host header');
  if (lengths > 1) return bad('more than one Content-Length header');
  if (encodings > 0 && lengths > 0) return bad('both Content-Length and Transfer-Encoding');
  if (encodings > 1) return bad('more than one Transfer-Encoding header');
  if (encodings > 0 && req.httpVersion === '1.0') return bad('Transfer-Encoding in HTTP/1.0');
  if (encodings > 0 && encoding.trim().toLowerCase() !== 'chunked') {
    return { ok: false, status: 501, reason: `transfer coding "${encoding}" not supported` };
  }
  if (lengths > 0 && !/^\d{1,15}$/.test(length)) return bad('malformed Content-Length');

  let target = req.url ?? '';
  let hostHeader = host;
  if (!target.startsWith('/')) {
    if (target === '*' && req.method === 'OPTIONS') {
      // asterisk-form: allowed for OPTIONS only
    } else if (/^https?:\/\//i.test(target)) {
      // absolute-form: the authority in the target wins over Host (RFC 9112 3.2.2)
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        return bad('malformed request target');
      }
      if (url.username || url.password) return bad('user information in the request target');
      hostHeader = url.host;
      target = `${url.pathname}${url.search}`;
    } else {
      return bad('request target is not a path');
    }
  }
  if (hostHeader === undefined || hostHeader === '') return bad('no Host header');
  const normalized = normalizeHost(hostHeader);
  if (!normalized) return bad('malformed Host header');
  const hasBody = encodings > 0 || (lengths > 0 && length !== '0' && !/^0+$/.test(length));
  return {
    ok: true,
    host: normalized,
    hostHeader: hostHeader.toLowerCase(),
    path: target,
    hasBody,
    cookie,
  };
}
