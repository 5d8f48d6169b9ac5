import { describe, expect, it } from 'vitest';
import type { Endpoints, Route, Service } from '../src/api/index.js';
import {
  buildRouteTable,
  resolvePort,
  upstreamTls,
  type TableInput,
  type TableOptions,
} from './route-table.js';

const OPTIONS: TableOptions = {
  routerName: 'default',
  requireAdmission: false,
  allowLoopback: false,
  defaultBalance: 'roundrobin',
};

let clock = Date.parse('2026-01-01T00:00:00Z');

function route(
  ns: string,
  name: string,
  spec: Partial<Route['spec']> = {},
  meta: Partial<Route['metadata']> = {},
  status?: Route['status'],
): Route {
  clock += 1000;
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { name, namespace: ns, creationTimestamp: new Date(clock).toISOString(), ...meta },
    spec: { host: `${name}.example.com`, to: { kind: 'Service', name, weight: 100 }, ...spec },
    ...(status ? { status } : {}),
  };
}

function service(
  ns: string,
  name: string,
  ports: Service['spec']['ports'] = [{ name: 'http', port: 80 }],
): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports } };
}

function eps(
  ns: string,
  name: string,
  ips: string[],
  ports: { name?: string; port: number }[] = [{ name: 'http', port: 8080 }],
  notReady: string[] = [],
): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: ns },
    subsets: [
      {
        addresses: ips.map((ip) => ({ ip })),
        notReadyAddresses: notReady.map((ip) => ({ ip })),
        ports,
      },
    ],
  };
}

/** A service with ready endpoints at the given IPs. */
function backed(
  ns: string,
  name: string,
  ips: string[],
): Pick<TableInput, 'services' | 'endpoints'> {
  return { services: [service(ns, name)], endpoints: [eps(ns, name, ips)] };
}

function build(routes: Route[], ...parts: Pick<TableInput, 'services' | 'endpoints'>[]) {
  return buildRouteTable(
    {
      routes,
      services: parts.flatMap((p) => p.services),
      endpoints: parts.flatMap((p) => p.endpoints),
    },
    OPTIONS,
  );
}

describe('lookup', () => {
  it('matches the exact host, then the longest path prefix', () => {
    const { table } = build(
      [
        route('shop', 'root', { host: 'shop.example.com' }),
        route('shop', 'api', { host: 'shop.example.com', path: '/api' }),
        route('shop', 'v2', { host: 'shop.example.com', path: '/api/v2/' }),
      ],
      backed('shop', 'root', ['10.0.0.1']),
      backed('shop', 'api', ['10.0.0.2']),
      backed('shop', 'v2', ['10.0.0.3']),
    );
    const who = (path: string, host = 'shop.example.com') =>
      table.match('http', host, path)?.backend.name;
    expect(who('/')).toBe('root');
    expect(who('/api')).toBe('api');
    expect(who('/api/x')).toBe('api');
    expect(who('/apix')).toBe('root');
    expect(who('/api/v2')).toBe('v2');
    expect(who('/api/v2/y')).toBe('v2');
    expect(who('/api/v23')).toBe('api');
    expect(who('/', 'www.shop.example.com')).toBeUndefined();
    expect(who('/', 'example.com')).toBeUndefined();
  });

  it('leaves out routes without a host, and reencrypt routes without a destination CA', () => {
    const { table, problems } = build(
      [
        route('a', 'nohost', { host: '' }),
        route('a', 'reenc', { tls: { termination: 'reencrypt' } }),
      ],
      backed('a', 'reenc', ['10.0.0.1']),
    );
    expect(table.backends).toEqual([]);
    expect(problems.map((p) => [p.reason, p.message])).toEqual([
      ['NoHost', 'spec.host is empty'],
      [
        'UnsupportedTermination',
        'reencrypt termination needs spec.tls.destinationCACertificate (there is no service CA to verify the backend against)',
      ],
    ]);
  });

  it('serves reencrypt routes as edge ones, speaking TLS to targets verified by the route CA', () => {
    const { table, problems } = build(
      [
        route('a', 'reenc', {
          tls: {
            termination: 'reencrypt',
            destinationCACertificate: 'CA PEM',
            insecureEdgeTerminationPolicy: 'Allow',
          },
        }),
        route('a', 'edge', { tls: { termination: 'edge' } }),
      ],
      backed('a', 'reenc', ['10.0.0.1']),
      backed('a', 'edge', ['10.0.0.2']),
    );
    expect(problems).toEqual([]);
    const reenc = table.match('https', 'reenc.example.com', '/')!.backend;
    expect(upstreamTls(reenc, reenc.targets[0]!)).toEqual({
      ca: 'CA PEM',
      servername: 'reenc.a.svc',
    });
    expect(table.match('http', 'reenc.example.com', '/')?.backend).toBe(reenc);
    const edge = table.match('https', 'edge.example.com', '/')!.backend;
    expect(upstreamTls(edge, edge.targets[0]!)).toBeUndefined();
  });
});

describe('passthrough routes', () => {
  it('serve their host on HTTPS by server name only, and plain HTTP by redirect if asked', () => {
    const { table, problems } = build(
      [
        route('a', 'pass', { tls: { termination: 'passthrough' } }),
        route('a', 'moved', {
          tls: { termination: 'passthrough', insecureEdgeTerminationPolicy: 'Redirect' },
        }),
      ],
      backed('a', 'pass', ['10.0.0.1']),
      backed('a', 'moved', ['10.0.0.2']),
    );
    expect(problems).toEqual([]);
    expect(table.hasPassthrough).toBe(true);
    expect(table.passthrough('pass.example.com')?.targets.map((t) => t.key)).toEqual([
      '10.0.0.1:8080',
    ]);
    // Not this router's TLS, nor its HTTP.
    expect(table.match('https', 'pass.example.com', '/')).toBeUndefined();
    expect(table.match('http', 'pass.example.com', '/')).toBeUndefined();
    expect(table.tlsHosts()).toEqual([]);
    expect(table.match('http', 'moved.example.com', '/x')).toMatchObject({
      redirect: true,
      backend: { name: 'moved', passthrough: true },
    });
    expect(table.passthrough('other.example.com')).toBeUndefined();
  });

  it('keep one TLS side per host: the older of passthrough and edge routes wins', () => {
    const host = 'both.example.com';
    const { table, problems } = build(
      [
        route('a', 'edge', { host, path: '/api', tls: { termination: 'edge' } }),
        route('a', 'pass', { host, tls: { termination: 'passthrough' } }),
        route('a', 'plain', { host: 'p.example.com' }),
        route('a', 'pass2', { host: 'p.example.com', tls: { termination: 'passthrough' } }),
      ],
      backed('a', 'edge', ['10.0.0.1']),
      backed('a', 'pass', ['10.0.0.2']),
      backed('a', 'plain', ['10.0.0.3']),
      backed('a', 'pass2', ['10.0.0.4']),
    );
    expect(problems.map((p) => [p.route, p.reason, p.message])).toEqual([
      [
        'a/pass',
        'HostAlreadyClaimed',
        'host both.example.com is served over HTTPS by edge routes of this router',
      ],
      ['a/pass2', 'PathAlreadyClaimed', 'host p.example.com path / is served by an older route'],
    ]);
    expect(table.passthrough(host)).toBeUndefined();
    expect(table.match('https', host, '/api')?.backend.name).toBe('edge');

    const reversed = build(
      [
        route('b', 'pass', { host, tls: { termination: 'passthrough' } }),
        route('b', 'edge', { host, path: '/api', tls: { termination: 'edge' } }),
        route('b', 'plain', { host, path: '/plain' }),
      ],
      backed('b', 'pass', ['10.0.0.2']),
      backed('b', 'edge', ['10.0.0.1']),
      backed('b', 'plain', ['10.0.0.5']),
    );
    expect(reversed.problems.map((p) => p.message)).toEqual([
      'host both.example.com is served over HTTPS by passthrough route b/pass',
    ]);
    expect(reversed.table.passthrough(host)?.name).toBe('pass');
    // A plain route of the host is still served on HTTP.
    expect(reversed.table.match('http', host, '/plain')?.backend.name).toBe('plain');
  });
});

describe('tenant isolation (X5, B5)', () => {
  it('gives a host to the namespace of its oldest route, whatever the paths', () => {
    const older = route('alpha', 'site', { host: 'shared.example.com' });
    const newer = route('beta', 'site', { host: 'shared.example.com', path: '/admin' });
    const newest = route('beta', 'other', { host: 'shared.example.com', path: '/x' });
    const { table, problems } = build(
      [newest, newer, older],
      backed('alpha', 'site', ['10.0.0.1']),
      backed('beta', 'site', ['10.0.0.2']),
      backed('beta', 'other', ['10.0.0.3']),
    );
    for (const path of ['/', '/admin', '/admin/x', '/x']) {
      expect(table.match('http', 'shared.example.com', path)?.backend.key).toBe('alpha/site');
    }
    expect(
      problems
        .filter((p) => p.reason === 'HostAlreadyClaimed')
        .map((p) => p.route)
        .sort(),
    ).toEqual(['beta/other', 'beta/site']);
  });

  it('breaks creation-time ties by name, and keeps one route per host and path', () => {
    const t = '2026-02-01T00:00:00Z';
    const b = route('beta', 'aaa', { host: 'tie.example.com' }, { creationTimestamp: t });
    const a = route('alpha', 'zzz', { host: 'tie.example.com' }, { creationTimestamp: t });
    const { table } = build(
      [a, b],
      backed('alpha', 'zzz', ['10.0.0.1']),
      backed('beta', 'aaa', ['10.0.0.2']),
    );
    expect(table.match('http', 'tie.example.com', '/')?.backend.key).toBe('beta/aaa');

    const first = route('alpha', 'first', { host: 'dup.example.com', path: '/p' });
    const second = route('alpha', 'second', { host: 'dup.example.com', path: '/p/' });
    const dup = build(
      [second, first],
      backed('alpha', 'first', ['10.0.0.1']),
      backed('alpha', 'second', ['10.0.0.2']),
    );
    expect(dup.table.match('http', 'dup.example.com', '/p')?.backend.key).toBe('alpha/first');
    expect(dup.problems.find((p) => p.reason === 'PathAlreadyClaimed')?.route).toBe('alpha/second');
  });

  it("resolves services only in the route's own namespace", () => {
    const { table } = build(
      [route('beta', 'steal', { to: { kind: 'Service', name: 'db', weight: 100 } })],
      backed('alpha', 'db', ['10.0.0.9']),
    );
    expect(table.backend('beta/steal')?.targets).toEqual([]);
  });

  it('ignores loopback endpoints unless allowed', () => {
    const input = { routes: [route('a', 'lo')], ...backed('a', 'lo', ['127.0.0.1', '10.0.0.1']) };
    const strict = buildRouteTable(input, OPTIONS);
    expect(strict.table.backend('a/lo')?.targets.map((t) => t.ip)).toEqual(['10.0.0.1']);
    expect(strict.problems.map((p) => p.reason)).toEqual(['LoopbackEndpoint']);
    const lax = buildRouteTable(input, { ...OPTIONS, allowLoopback: true });
    expect(lax.table.backend('a/lo')?.targets.map((t) => t.ip)).toEqual(['127.0.0.1', '10.0.0.1']);
  });
});

describe('admission', () => {
  const admitted = (status: 'True' | 'False', routerName = 'default') => ({
    ingress: [{ routerName, host: 'x', conditions: [{ type: 'Admitted', status }] }],
  });

  it('serves routes admitted for this router; without status only when not required', () => {
    const routes = [
      route('a', 'yes', {}, {}, admitted('True')),
      route('a', 'no', {}, {}, admitted('False')),
      route('a', 'elsewhere', {}, {}, admitted('True', 'internal')),
      route('a', 'none'),
    ];
    const parts = ['yes', 'no', 'elsewhere', 'none'].map((n) => backed('a', n, ['10.0.0.1']));
    const input: TableInput = {
      routes,
      services: parts.flatMap((p) => p.services),
      endpoints: parts.flatMap((p) => p.endpoints),
    };
    const keys = (requireAdmission: boolean) =>
      buildRouteTable(input, { ...OPTIONS, requireAdmission })
        .table.backends.map((b) => b.name)
        .sort();
    expect(keys(true)).toEqual(['yes']);
    expect(keys(false)).toEqual(['elsewhere', 'none', 'yes']);
  });

  it('lets a rejected older route not block the host', () => {
    const older = route('alpha', 'old', { host: 'h.example.com' }, {}, admitted('False'));
    const newer = route('beta', 'new', { host: 'h.example.com' }, {}, admitted('True'));
    const { table } = build(
      [older, newer],
      backed('alpha', 'old', ['10.0.0.1']),
      backed('beta', 'new', ['10.0.0.2']),
    );
    expect(table.match('http', 'h.example.com', '/')?.backend.key).toBe('beta/new');
  });
});

describe('targets', () => {
  it('uses only ready addresses', () => {
    const { table } = buildRouteTable(
      {
        routes: [route('a', 'web')],
        services: [service('a', 'web')],
        endpoints: [eps('a', 'web', ['10.0.0.1'], undefined, ['10.0.0.2'])],
      },
      OPTIONS,
    );
    expect(table.backend('a/web')?.targets.map((t) => t.key)).toEqual(['10.0.0.1:8080']);
  });

  it('divides each service weight among its targets; weight 0 sends nothing', () => {
    const r = route('a', 'split', {
      to: { kind: 'Service', name: 'one', weight: 60 },
      alternateBackends: [
        { kind: 'Service', name: 'two', weight: 40 },
        { kind: 'Service', name: 'off', weight: 0 },
      ],
    });
    const { table } = build(
      [r],
      backed('a', 'one', ['10.0.0.1', '10.0.0.2', '10.0.0.3']),
      backed('a', 'two', ['10.0.1.1']),
      backed('a', 'off', ['10.0.2.1']),
    );
    const b = table.backend('a/split')!;
    expect(b.targets.map((t) => [t.service, t.weight])).toEqual([
      ['one', 20],
      ['one', 20],
      ['one', 20],
      ['two', 40],
    ]);
    expect(b.totalWeight).toBe(100);
    expect(b.uniformWeights).toBe(false);
  });

  it('gives each target an opaque sticky value that does not reveal its address', () => {
    const { table } = build([route('a', 'web')], backed('a', 'web', ['10.0.0.1', '10.0.0.2']));
    const [x, y] = table.backend('a/web')!.targets;
    expect(x!.cookie).toMatch(/^[0-9a-f]{32}$/);
    expect(x!.cookie).not.toBe(y!.cookie);
  });

  it('keeps unchanged backends identical across rebuilds and renews changed ones', () => {
    const routes = [route('a', 'same'), route('a', 'moving')];
    const first = build(
      routes,
      backed('a', 'same', ['10.0.0.1']),
      backed('a', 'moving', ['10.0.0.2']),
    );
    const second = buildRouteTable(
      {
        routes,
        services: [service('a', 'same'), service('a', 'moving')],
        endpoints: [eps('a', 'same', ['10.0.0.1']), eps('a', 'moving', ['10.0.0.3'])],
      },
      OPTIONS,
      first.table,
    );
    expect(second.table.generation).toBe(first.table.generation + 1);
    expect(second.table.backend('a/same')).toBe(first.table.backend('a/same'));
    expect(second.table.backend('a/moving')).not.toBe(first.table.backend('a/moving'));
    expect(Object.isFrozen(second.table.backend('a/moving')!.targets)).toBe(true);
  });
});

describe('resolvePort', () => {
  const svc = service('a', 'multi', [
    { name: 'web', port: 80, targetPort: 'http' },
    { name: 'admin', port: 9000, targetPort: 9090 },
  ]);
  const ports = [
    { name: 'web', port: 8080 },
    { name: 'admin', port: 9090 },
  ];

  it('maps a targetPort name through endpoint and service port names', () => {
    expect(resolvePort(ports, svc, 'admin')).toBe(9090);
    expect(resolvePort(ports, svc, 'http')).toBe(8080);
    expect(resolvePort(ports, svc, 'nope')).toBeUndefined();
  });

  it('maps a targetPort number to an endpoint port, else a service port', () => {
    expect(resolvePort(ports, svc, 8080)).toBe(8080);
    expect(resolvePort(ports, svc, 9000)).toBe(9090);
    expect(resolvePort(ports, svc, 1234)).toBeUndefined();
  });

  it("without a targetPort uses the service's first port", () => {
    expect(resolvePort(ports, svc, undefined)).toBe(8080);
    expect(resolvePort([{ port: 7000 }], service('a', 'x', []), undefined)).toBe(7000);
    expect(resolvePort([], svc, undefined)).toBeUndefined();
  });
});

describe('TLS routes', () => {
  const tls = (insecure?: 'None' | 'Allow' | 'Redirect') => ({
    termination: 'edge' as const,
    ...(insecure ? { insecureEdgeTerminationPolicy: insecure } : {}),
  });

  it('serves edge routes on HTTPS, and on HTTP as the insecure policy says', () => {
    const { table } = build(
      [
        route('a', 'none', { tls: tls() }),
        route('a', 'allow', { tls: tls('Allow') }),
        route('a', 'redirect', { tls: tls('Redirect') }),
        route('a', 'plain'),
      ],
      ...['none', 'allow', 'redirect', 'plain'].map((n) => backed('a', n, ['10.0.0.1'])),
    );
    const at = (scheme: 'http' | 'https', name: string) => {
      const m = table.match(scheme, `${name}.example.com`, '/');
      return m ? (m.redirect ? 'redirect' : 'serve') : 'none';
    };
    expect(['none', 'allow', 'redirect', 'plain'].map((n) => at('http', n))).toEqual([
      'none',
      'serve',
      'redirect',
      'serve',
    ]);
    expect(['none', 'allow', 'redirect', 'plain'].map((n) => at('https', n))).toEqual([
      'serve',
      'serve',
      'serve',
      'none',
    ]);
    expect(table.tlsHosts().sort()).toEqual([
      'allow.example.com',
      'none.example.com',
      'redirect.example.com',
    ]);
  });

  it('falls back to a shorter HTTP path when the longer one is HTTPS-only', () => {
    const { table } = build(
      [
        route('a', 'site', { host: 'mix.example.com' }),
        route('a', 'secure', { host: 'mix.example.com', path: '/secure', tls: tls() }),
      ],
      backed('a', 'site', ['10.0.0.1']),
      backed('a', 'secure', ['10.0.0.2']),
    );
    expect(table.match('http', 'mix.example.com', '/secure/x')?.backend.name).toBe('site');
    expect(table.match('https', 'mix.example.com', '/secure/x')?.backend.name).toBe('secure');
  });
});
