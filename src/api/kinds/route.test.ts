import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import {
  routeHostColumn,
  routeKind,
  routeServicesColumn,
  routeTerminationColumn,
  type Route,
} from './route.js';

// A self-signed EC certificate for www.example.com, its key and an unrelated key: fixed data
// (validation does not look at validity dates).
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBpjCCAUugAwIBAgIUQyRdkJ9Rn6pvxY0ETB6kuVZCINcwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMB4XDTI2MTEyMjA2NTg1N1oXDTM2
MTExOTA2NTg1N1owGjEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAE76Kn1v+IQYxQXWkBYTKsOgjRp5JXdNga9JoxaoBk
ED4NLGFed+0aqzQT1HouTwKvo+LTTbFlcvw2jvLP0VVwFKNvMG0wHQYDVR0OBBYE
FJIVDxhwdVu+X6GkzIJqWNgVYpV4MB8GA1UdIwQYMBaAFJIVDxhwdVu+X6GkzIJq
WNgVYpV4MA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYIPd3d3LmV4YW1wbGUu
Y29tMAoGCCqGSM49BAMCA0kAMEYCIQDID6IdahlKhUHfD47g4KzwMUEMbHxdUTFX
r9GsC+/i3wIhAId87f9P8JOEmomy+9eO1ZSp/8qKpwZIKRebuMlfVo0n
-----END CERTIFICATE-----
`;

export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOT9ZbDAMjTzp+yVF
/cqXyqpSEfgSwynAOtIQPqtk4vuhRANCAATvoqfW/4hBjFBdaQFhMqw6CNGnkld0
2Br0mjFqgGQQPg0sYV537RqrNBPUei5PAq+j4tNNsWVy/DaO8s/RVXAU
-----END PRIVATE KEY-----
`;

export const OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTjNrpOzWOHefjryz
dsOxDhSTtmqBl8kGRcncl1ywT52hRANCAAQ26TowqQ2V3j0xrPHSI7oaNuHEdUys
azuITA1hph4ShkdfHcW5q3QD0dwl6qDwYtF8+HXbN/NFe4k2JEhsMu8G
-----END PRIVATE KEY-----
`;

function route(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { name: 'web', namespace: 'demo' },
    spec: { to: { kind: 'Service', name: 'web' }, ...spec },
    ...extra,
  };
}

/** The causes an invalid object is refused with, as `field: message`. */
function causes(input: unknown): string[] {
  try {
    validateObject(routeKind, input);
  } catch (err) {
    if (err instanceof ApiError)
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    throw err;
  }
  return [];
}

function valid(input: unknown): Route {
  return validateObject(routeKind, input) as Route;
}

describe('Route validation', () => {
  it("accepts a plain route and fills OpenShift's defaults", () => {
    const r = valid(route({ host: 'www.example.com', path: '/api' }));
    expect(r.apiVersion).toBe('route.openshift.io/v1');
    expect(r.spec.to).toEqual({ kind: 'Service', name: 'web', weight: 100 });
    expect(r.spec.wildcardPolicy).toBe('None');
  });

  it('accepts the bare v1 apiVersion', () => {
    expect(valid({ ...(route({}) as object), apiVersion: 'v1' }).apiVersion).toBe(
      'route.openshift.io/v1',
    );
  });

  it('refuses hosts that are not lower-case DNS subdomains', () => {
    expect(causes(route({ host: 'WWW.example.com' }))[0]).toMatch(/^spec\.host: Invalid value/);
    expect(causes(route({ host: 'a_b.example.com' }))[0]).toMatch(/^spec\.host:/);
    expect(causes(route({ host: 'example.com.' }))[0]).toMatch(/^spec\.host:/);
    expect(causes(route({ host: `${'a'.repeat(64)}.example.com` }))).toContain(
      `spec.host: Invalid value: "${'a'.repeat(64)}.example.com": each label must be no more than 63 characters`,
    );
  });

  it('refuses a subdomain that is not a lower-case DNS subdomain', () => {
    expect(causes(route({ subdomain: 'frontend' }))).toEqual([]);
    expect(causes(route({ subdomain: 'Front_End' }))[0]).toMatch(
      /^spec\.subdomain: Invalid value: "Front_End"/,
    );
  });

  it('refuses paths that do not start with a slash', () => {
    expect(causes(route({ path: 'api' }))).toEqual([
      'spec.path: Invalid value: "api": path must begin with /',
    ]);
    expect(causes(route({ path: '/a b' }))[0]).toMatch(/^spec\.path: .*whitespace/);
  });

  it('bounds weights to 0..256 and names the field', () => {
    expect(causes(route({ to: { name: 'web', weight: 257 } }))[0]).toMatch(/^spec\.to\.weight:/);
    expect(causes(route({ to: { name: 'web', weight: -1 } }))[0]).toMatch(/^spec\.to\.weight:/);
    expect(causes(route({ alternateBackends: [{ name: 'b', weight: 300 }] }))[0]).toMatch(
      /^spec\.alternateBackends\[0\]\.weight:/,
    );
    expect(causes(route({ to: { name: 'web', weight: 0 } }))).toEqual([]);
  });

  it('refuses other target kinds, duplicate backends and more than three alternates', () => {
    expect(causes(route({ to: { kind: 'Pod', name: 'web' } }))).toEqual([
      'spec.to.kind: Unsupported value: "Pod": supported values: "Service"',
    ]);
    expect(causes(route({ alternateBackends: [{ name: 'web' }] }))).toEqual([
      'spec.alternateBackends[0].name: Duplicate value: "web"',
    ]);
    const four = ['a', 'b', 'c', 'd'].map((name) => ({ name }));
    expect(causes(route({ alternateBackends: four }))[0]).toMatch(
      /^spec\.alternateBackends: Too many/,
    );
  });

  it('requires spec.to', () => {
    expect(causes({ ...(route({}) as { spec: object }), spec: {} })).toEqual([
      'spec.to: Required value',
    ]);
  });

  it('accepts an edge route with a matching certificate and key', () => {
    const r = valid(
      route({
        host: 'www.example.com',
        tls: {
          termination: 'edge',
          certificate: TEST_CERT,
          key: TEST_KEY,
          caCertificate: TEST_CERT,
          insecureEdgeTerminationPolicy: 'Redirect',
        },
      }),
    );
    expect(r.spec.tls?.termination).toBe('edge');
  });

  it('refuses certificates and keys that are not PEM, do not parse or do not match', () => {
    const edge = (tls: Record<string, unknown>): string[] =>
      causes(route({ tls: { termination: 'edge', ...tls } }));
    expect(edge({ certificate: 'hello', key: TEST_KEY })).toEqual([
      'spec.tls.certificate: Invalid value: "redacted certificate data": must be one or more PEM-encoded certificates (BEGIN CERTIFICATE)',
    ]);
    expect(edge({ certificate: TEST_CERT, key: TEST_CERT })[0]).toMatch(
      /^spec\.tls\.key: Invalid value: "redacted key data": must be exactly one PEM-encoded private key/,
    );
    expect(edge({ certificate: TEST_CERT, key: OTHER_KEY })).toEqual([
      'spec.tls.key: Invalid value: "redacted key data": the key does not match the certificate',
    ]);
    const broken = TEST_CERT.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    expect(edge({ certificate: broken, key: TEST_KEY })[0]).toMatch(
      /^spec\.tls\.certificate: Invalid value: "redacted certificate data"/,
    );
    expect(edge({ certificate: TEST_CERT })).toEqual([
      'spec.tls.key: Required value: certificate and key must be given together',
    ]);
    expect(edge({ caCertificate: 'nope' })[0]).toMatch(/^spec\.tls\.caCertificate:/);
  });

  it('never echoes key material in its messages', () => {
    const all = causes(
      route({ tls: { termination: 'edge', certificate: TEST_CERT, key: OTHER_KEY } }),
    );
    expect(all.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('refuses certificates and paths on passthrough routes, and Allow', () => {
    expect(
      causes(
        route({
          path: '/x',
          tls: {
            termination: 'passthrough',
            certificate: TEST_CERT,
            insecureEdgeTerminationPolicy: 'Allow',
          },
        }),
      ),
    ).toEqual([
      'spec.path: Invalid value: "/x": passthrough termination does not support paths',
      'spec.tls.certificate: Invalid value: "redacted certificate data": passthrough termination does not support certificates',
      'spec.tls.insecureEdgeTerminationPolicy: Unsupported value: "Allow": supported values for passthrough termination: "None", "Redirect"',
    ]);
  });

  it('refuses unknown terminations and policies', () => {
    expect(causes(route({ tls: { termination: 'magic' } }))[0]).toMatch(
      /^spec\.tls\.termination: Unsupported value: "magic"/,
    );
    expect(
      causes(
        route({ tls: { termination: 'edge', insecureEdgeTerminationPolicy: 'Sometimes' } }),
      )[0],
    ).toMatch(/^spec\.tls\.insecureEdgeTerminationPolicy: Unsupported value/);
  });

  it('checks status.ingress conditions', () => {
    expect(
      causes(
        route(
          {},
          {
            status: {
              ingress: [
                { routerName: 'default', conditions: [{ type: 'Admitted', status: 'Yes' }] },
              ],
            },
          },
        ),
      )[0],
    ).toMatch(/^status\.ingress\[0\]\.conditions\[0\]\.status: Unsupported value/);
  });
});

describe('Route columns', () => {
  const base = valid(
    route({ host: 'www.example.com', path: '/api', port: { targetPort: 'http' } }),
  );
  const admitted = (status: 'True' | 'False', reason?: string) => ({
    routerName: 'default',
    host: 'www.example.com',
    conditions: [{ type: 'Admitted', status, ...(reason ? { reason } : {}) }],
  });

  it('prints them as oc does', () => {
    const row = routeKind.columns.map((c) => c.value(base, new Date()));
    expect(routeKind.columns.map((c) => c.header)).toEqual([
      'HOST/PORT',
      'PATH',
      'SERVICES',
      'PORT',
      'TERMINATION',
      'WILDCARD',
    ]);
    expect(row).toEqual(['www.example.com', '/api', 'web', 'http', '', 'None']);
  });

  it('shows the host only once admitted, or why not', () => {
    expect(routeHostColumn({ ...base, status: { ingress: [] } })).toBe('Pending');
    expect(routeHostColumn({ ...base, status: { ingress: [admitted('True')] } })).toBe(
      'www.example.com',
    );
    expect(
      routeHostColumn({ ...base, status: { ingress: [admitted('False', 'HostAlreadyClaimed')] } }),
    ).toBe('HostAlreadyClaimed');
    expect(
      routeHostColumn({
        ...base,
        status: { ingress: [admitted('True'), admitted('False', 'HostAlreadyClaimed')] },
      }),
    ).toBe('www.example.com ... 1 rejected');
  });

  it('shows weights as percentages with alternate backends', () => {
    const r = valid(
      route({ to: { name: 'a', weight: 3 }, alternateBackends: [{ name: 'b', weight: 1 }] }),
    );
    expect(routeServicesColumn(r)).toBe('a(75%),b(25%)');
    const zero = valid(route({ to: { name: 'a', weight: 0 } }));
    expect(routeServicesColumn(zero)).toBe('a(0%)');
  });

  it('shows the termination with its insecure policy', () => {
    const r = valid(
      route({ tls: { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' } }),
    );
    expect(routeTerminationColumn(r)).toBe('edge/Redirect');
    expect(routeKind.columns[3]!.value(valid(route({})), new Date())).toBe('<all>');
  });
});
