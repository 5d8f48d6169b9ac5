import { describe, expect, it } from 'vitest';
import type { Route } from '../src/api/index.js';
import { defaultCookieName, parseHaproxyTime, routeOptions } from './annotations.js';

function route(annotations: Record<string, string> = {}): Route {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: { host: 'www.example.com', to: { kind: 'Service', name: 'web' } },
  };
}

describe('parseHaproxyTime', () => {
  it("reads HAProxy's time format, milliseconds by default", () => {
    expect(parseHaproxyTime('500')).toBe(500);
    expect(parseHaproxyTime('500ms')).toBe(500);
    expect(parseHaproxyTime('5s')).toBe(5000);
    expect(parseHaproxyTime('2m')).toBe(120_000);
    expect(parseHaproxyTime('1h')).toBe(3_600_000);
    expect(parseHaproxyTime('1d')).toBe(86_400_000);
    expect(parseHaproxyTime('1500us')).toBe(2);
    expect(parseHaproxyTime('0s')).toBeUndefined();
    expect(parseHaproxyTime('5 seconds')).toBeUndefined();
    expect(parseHaproxyTime('-5s')).toBeUndefined();
  });
});

describe('routeOptions', () => {
  it('defaults: the default balance, a hashed cookie name, no timeouts', () => {
    const o = routeOptions(route(), 'roundrobin');
    expect(o).toEqual({
      balance: 'roundrobin',
      cookieName: defaultCookieName('shop', 'web'),
      timeoutMs: undefined,
      tunnelTimeoutMs: undefined,
      problems: [],
    });
    expect(o.cookieName).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reads the OpenShift annotations', () => {
    const o = routeOptions(
      route({
        'haproxy.router.openshift.io/balance': 'LeastConn',
        'router.openshift.io/cookie_name': 'my_session',
        'haproxy.router.openshift.io/timeout': '2s',
        'haproxy.router.openshift.io/timeout-tunnel': '5m',
      }),
      'roundrobin',
    );
    expect(o).toMatchObject({
      balance: 'leastconn',
      cookieName: 'my_session',
      timeoutMs: 2000,
      tunnelTimeoutMs: 300_000,
    });
    expect(
      routeOptions(route({ 'haproxy.router.openshift.io/disable_cookies': 'TRUE' }), 'source'),
    ).toMatchObject({ balance: 'source', cookieName: undefined });
  });

  it('reports bad values and keeps the defaults', () => {
    const o = routeOptions(
      route({
        'haproxy.router.openshift.io/balance': 'fastest',
        'router.openshift.io/cookie_name': 'bad name;',
        'haproxy.router.openshift.io/timeout': 'soon',
      }),
      'roundrobin',
    );
    expect(o.balance).toBe('roundrobin');
    expect(o.cookieName).toBe(defaultCookieName('shop', 'web'));
    expect(o.timeoutMs).toBeUndefined();
    expect(o.problems).toHaveLength(3);
  });
});
