/**
 * The OpenShift route annotations the router honours, parsed once when the table is built.
 * Unknown or malformed values fall back to the defaults (and are reported, never thrown).
 */
import { createHash } from 'node:crypto';
import type { Route } from '../src/api/index.js';

export const BALANCE = 'haproxy.router.openshift.io/balance';
export const DISABLE_COOKIES = 'haproxy.router.openshift.io/disable_cookies';
export const COOKIE_NAME = 'router.openshift.io/cookie_name';
export const TIMEOUT = 'haproxy.router.openshift.io/timeout';
export const TIMEOUT_TUNNEL = 'haproxy.router.openshift.io/timeout-tunnel';

export type Balance = 'roundrobin' | 'leastconn' | 'source' | 'random';
const BALANCES: readonly Balance[] = ['roundrobin', 'leastconn', 'source', 'random'];

const UNITS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** HAProxy's time format: `500`, `500ms`, `5s`, `2m`, `1h`, `1d`, `100us`; no unit means ms. */
export function parseHaproxyTime(value: string): number | undefined {
  const m = /^\s*(\d+)(us|ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  return Number.isFinite(ms) && ms > 0 ? Math.max(1, Math.round(ms)) : undefined;
}

/** An RFC 6265 cookie name (an HTTP token). */
const COOKIE_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;

export interface RouteOptions {
  balance: Balance;
  /** The sticky-session cookie's name; undefined when cookies are disabled. */
  cookieName: string | undefined;
  /** Server timeout: waiting for the response head and between body chunks. */
  timeoutMs: number | undefined;
  /** Idle limit of a WebSocket (or other upgraded) connection. */
  tunnelTimeoutMs: number | undefined;
  /** What was ignored and why, for the log. */
  problems: string[];
}

/** OpenShift names the default cookie after a hash of the route, so it leaks nothing. */
export function defaultCookieName(namespace: string, name: string): string {
  return createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 32);
}

export function routeOptions(route: Route, defaultBalance: Balance): RouteOptions {
  const a = route.metadata.annotations ?? {};
  const problems: string[] = [];
  let balance = defaultBalance;
  const requested = a[BALANCE]?.trim().toLowerCase();
  if (requested) {
    if ((BALANCES as readonly string[]).includes(requested)) balance = requested as Balance;
    else problems.push(`${BALANCE}: "${a[BALANCE]}" is not one of ${BALANCES.join(', ')}`);
  }
  let cookieName: string | undefined;
  if (a[DISABLE_COOKIES]?.trim().toLowerCase() !== 'true') {
    const wanted = a[COOKIE_NAME]?.trim();
    if (wanted && COOKIE_NAME_RE.test(wanted)) cookieName = wanted;
    else {
      if (wanted) problems.push(`${COOKIE_NAME}: "${wanted}" is not a valid cookie name`);
      cookieName = defaultCookieName(route.metadata.namespace ?? '', route.metadata.name ?? '');
    }
  }
  const time = (key: string): number | undefined => {
    const raw = a[key];
    if (raw === undefined) return undefined;
    const ms = parseHaproxyTime(raw);
    if (ms === undefined) problems.push(`${key}: "${raw}" is not a time such as 5s or 500ms`);
    return ms;
  };
  return {
    balance,
    cookieName,
    timeoutMs: time(TIMEOUT),
    tunnelTimeoutMs: time(TIMEOUT_TUNNEL),
    problems,
  };
}
