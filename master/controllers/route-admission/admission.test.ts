import { describe, expect, it } from 'vitest';
import type { Route } from '../../../src/api/index.js';
import { decideAdmission, desiredRouteStatus } from './admission.js';

function route(
  namespace: string,
  name: string,
  created: string,
  o: { host?: string; path?: string } = {},
): Route {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { namespace, name, creationTimestamp: `2030-01-01T00:00:${created}Z` },
    spec: {
      host: o.host ?? 'app.example.com',
      ...(o.path === undefined ? {} : { path: o.path }),
      to: { kind: 'Service', name: 'web' },
    },
  };
}

describe('decideAdmission', () => {
  it('gives the host to the oldest route; other namespaces are refused, paths too (X5)', () => {
    const a = route('alpha', 'app', '01');
    const b = route('beta', 'app', '02');
    const bAdmin = route('beta', 'admin', '03', { path: '/admin' });
    const all = [bAdmin, b, a];
    expect(decideAdmission(a, all)).toEqual({ admitted: true });
    expect(decideAdmission(b, all)).toEqual({
      admitted: false,
      reason: 'HostAlreadyClaimed',
      message: 'route app already exposes app.example.com and is older',
    });
    expect(decideAdmission(bAdmin, all)).toMatchObject({
      admitted: false,
      reason: 'HostAlreadyClaimed',
    });
  });

  it('admits every path of the owning namespace; the same path goes to the older', () => {
    const root = route('alpha', 'root', '01');
    const api = route('alpha', 'api', '02', { path: '/api' });
    const api2 = route('alpha', 'api2', '03', { path: '/api/' });
    const slash = route('alpha', 'slash', '04', { path: '/' });
    const all = [root, api, api2, slash];
    expect(decideAdmission(root, all).admitted).toBe(true);
    expect(decideAdmission(api, all).admitted).toBe(true);
    expect(decideAdmission(api2, all)).toEqual({
      admitted: false,
      reason: 'HostAlreadyClaimed',
      message: 'route api already exposes app.example.com and is older',
    });
    expect(decideAdmission(slash, all)).toMatchObject({
      admitted: false,
      message: 'route root already exposes app.example.com and is older',
    });
  });

  it('breaks a tie on creationTimestamp by name, then namespace (as the router does)', () => {
    const x = route('zeta', 'a', '05');
    const y = route('alpha', 'b', '05');
    expect(decideAdmission(x, [x, y]).admitted).toBe(true);
    expect(decideAdmission(y, [y, x]).admitted).toBe(false);
    const p = route('zeta', 'same', '05');
    const q = route('alpha', 'same', '05');
    expect(decideAdmission(q, [p, q]).admitted).toBe(true);
    expect(decideAdmission(p, [p, q]).admitted).toBe(false);
  });

  it('hands the host to the next-oldest route once the owner is gone', () => {
    const a = route('alpha', 'app', '01');
    const b = route('beta', 'app', '02');
    const c = route('gamma', 'app', '03');
    expect(decideAdmission(b, [a, b, c]).admitted).toBe(false);
    expect(decideAdmission(b, [b, c]).admitted).toBe(true);
    expect(decideAdmission(c, [b, c])).toMatchObject({
      admitted: false,
      message: 'route app already exposes app.example.com and is older',
    });
  });

  it('ignores routes of other hosts', () => {
    const a = route('alpha', 'app', '01', { host: 'other.example.com' });
    const b = route('beta', 'app', '02');
    expect(decideAdmission(b, [a, b]).admitted).toBe(true);
  });
});

describe('desiredRouteStatus', () => {
  const r = route('alpha', 'app', '01');
  it('writes one entry for the router, wildcardPolicy None', () => {
    expect(desiredRouteStatus(r, { admitted: true }, 'default', 'T1')).toEqual({
      ingress: [
        {
          host: 'app.example.com',
          routerName: 'default',
          wildcardPolicy: 'None',
          conditions: [{ type: 'Admitted', status: 'True', lastTransitionTime: 'T1' }],
        },
      ],
    });
  });

  it('keeps lastTransitionTime while the status holds, and other routers entries', () => {
    const other = { host: 'app.example.com', routerName: 'sharded', conditions: [] };
    const admitted = { ...r, status: desiredRouteStatus(r, { admitted: true }, 'default', 'T1') };
    admitted.status.ingress.unshift(other);
    const again = desiredRouteStatus(admitted, { admitted: true }, 'default', 'T2');
    expect(again).toEqual(admitted.status);
    const refused = desiredRouteStatus(
      admitted,
      { admitted: false, reason: 'HostAlreadyClaimed', message: 'm' },
      'default',
      'T3',
    );
    expect(refused.ingress[0]).toEqual(other);
    expect(refused.ingress[1]!.conditions).toEqual([
      {
        type: 'Admitted',
        status: 'False',
        reason: 'HostAlreadyClaimed',
        message: 'm',
        lastTransitionTime: 'T3',
      },
    ]);
  });
});
