/**
 * Host header normalisation (B5): the one place that turns what a client sends into the key the
 * route table is looked up by. Lower case, no port, at most one trailing dot removed; anything
 * that is not a plain DNS name is refused rather than guessed at.
 */

const HOST_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const PORT_RE = /^[0-9]{1,5}$/;

/**
 * `WWW.Example.COM:8080` -> `www.example.com`; `example.com.` -> `example.com`. Returns undefined
 * for a missing or malformed host (IP literals, user info, paths, empty labels, bad ports), which
 * can never match a route: routes carry DNS names only.
 */
export function normalizeHost(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let host = raw.trim().toLowerCase();
  if (host.startsWith('[')) return undefined; // IPv6 literal: no route has one
  const colon = host.indexOf(':');
  if (colon >= 0) {
    const port = host.slice(colon + 1);
    if (!PORT_RE.test(port) || Number(port) > 65535) return undefined;
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !HOST_RE.test(host)) return undefined;
  return host;
}

/** A route's spec.path as the table compares it: '' for "everything", no trailing slash. */
export function normalizeRoutePath(path: string | undefined): string {
  if (!path || path === '/') return '';
  return path.endsWith('/') ? path.replace(/\/+$/, '') : path;
}

/** True when `requestPath` is `routePath` or below it on a segment boundary. */
export function pathMatches(routePath: string, requestPath: string): boolean {
  if (routePath === '') return true;
  if (!requestPath.startsWith(routePath)) return false;
  return requestPath.length === routePath.length || requestPath[routePath.length] === '/';
}

/** The path of a request target without its query: `/a/b?x=1` -> `/a/b`. */
export function requestPathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
