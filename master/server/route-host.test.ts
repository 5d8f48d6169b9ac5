import { describe, expect, it } from 'vitest';
import { isApiError, type Route } from '../../src/api/index.js';
import { loadConfig } from '../config.js';
import { defaultRouteHost, HOST_GENERATED_ANNOTATION } from './route-host.js';

function route(name: string, namespace: string, host?: string): Route {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { name, namespace },
    spec: { ...(host ? { host } : {}), to: { kind: 'Service', name: 'web' } },
  };
}

describe('defaultRouteHost', () => {
  it('gives a route without host NAME-NAMESPACE.SUBDOMAIN and marks it generated', () => {
    const r = route('web', 'shop');
    defaultRouteHost(r, 'apps.localhost');
    expect(r.spec.host).toBe('web-shop.apps.localhost');
    expect(r.metadata.annotations).toEqual({ [HOST_GENERATED_ANNOTATION]: 'true' });
  });

  it('puts a requested spec.subdomain under the router domain', () => {
    const r = route('web', 'shop');
    r.spec.subdomain = 'frontend';
    defaultRouteHost(r, 'apps.localhost');
    expect(r.spec.host).toBe('frontend.apps.localhost');
    expect(r.metadata.annotations).toEqual({ [HOST_GENERATED_ANNOTATION]: 'true' });
    const withHost = route('web', 'shop', 'shop.example.com');
    withHost.spec.subdomain = 'frontend';
    defaultRouteHost(withHost, 'apps.localhost');
    expect(withHost.spec.host).toBe('shop.example.com');
  });

  it('leaves a given host alone', () => {
    const r = route('web', 'shop', 'shop.example.com');
    defaultRouteHost(r, 'apps.localhost');
    expect(r.spec.host).toBe('shop.example.com');
    expect(r.metadata.annotations).toBeUndefined();
  });

  it('refuses a generated host whose first label is too long', () => {
    const r = route('a'.repeat(40), 'b'.repeat(30));
    let error: unknown;
    try {
      defaultRouteHost(r, 'apps.localhost');
    } catch (err) {
      error = err;
    }
    expect(isApiError(error, 'Invalid')).toBe(true);
    expect(JSON.stringify(error)).toMatch(/spec\.host|63 characters/);
  });
});

describe('routeSubdomain setting', () => {
  const base = { dataDir: '/tmp/x' };
  it('defaults to apps.localhost and reads SLIPWAY_ROUTE_SUBDOMAIN', () => {
    expect(loadConfig({}, base).routeSubdomain).toBe('apps.localhost');
    expect(loadConfig({ SLIPWAY_ROUTE_SUBDOMAIN: 'apps.example.com' }, base).routeSubdomain).toBe(
      'apps.example.com',
    );
  });
  it('refuses what is not a lowercase DNS subdomain', () => {
    expect(() => loadConfig({ SLIPWAY_ROUTE_SUBDOMAIN: 'Apps_X' }, base)).toThrow(
      /routeSubdomain: must be a lowercase DNS subdomain/,
    );
  });
});
