// Route hosts and admission through a real master: the host default at create, and the
// controller-manager's HostAlreadyClaimed decisions between two tenants (X5).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeKind, type Route, type RouteIngressCondition } from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import type { RunningMaster } from '../../master/main.js';
import { startTestMaster } from '../support/master.js';
import { waitFor } from './support.js';

let master: RunningMaster;
let dataDir: string;
// Users cannot yet be given roles in a project (only cluster admins create anything), so
// both tenants' objects are written with the admin token; what is checked is the projects.
let alice: ApiClient;
let bob: ApiClient;

async function requestProject(client: ApiClient, name: string): Promise<void> {
  await client.request('POST', '/apis/project.openshift.io/v1/projectrequests', {
    body: { apiVersion: 'project.openshift.io/v1', kind: 'ProjectRequest', metadata: { name } },
  });
}

function newRoute(namespace: string, name: string, spec: Partial<Route['spec']> = {}): Route {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { namespace, name },
    spec: { to: { kind: 'Service', name: 'web' }, ...spec },
  };
}

function admitted(route: Route): RouteIngressCondition | undefined {
  return route.status?.ingress
    ?.find((i) => i.routerName === 'default')
    ?.conditions?.find((c) => c.type === 'Admitted');
}

function untilAdmission(
  client: ApiClient,
  namespace: string,
  name: string,
  status: 'True' | 'False',
): Promise<Route> {
  return waitFor(
    `${namespace}/${name} Admitted=${status}`,
    () => client.get<Route>(routeKind, name, { namespace }),
    (r) => admitted(r)?.status === status,
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-route-admission-'));
  master = await startTestMaster(dataDir);
  alice = new ApiClient({ server: master.url, token: master.adminToken });
  bob = new ApiClient({ server: master.url, token: master.adminToken });
  // Names chosen so that name and namespace order both favour bob: only age makes alice win.
  await requestProject(alice, 'zz-shop');
  await requestProject(bob, 'aa-rival');
});

afterAll(async () => {
  await master?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('route hosts and admission', () => {
  it('generates a host, admits it, refuses it to another project, then hands it over', async () => {
    const created = await alice.create<Route>(routeKind, newRoute('zz-shop', 'web'));
    expect(created.spec.host).toBe('web-zz-shop.apps.localhost');
    expect(created.metadata.annotations?.['openshift.io/host.generated']).toBe('true');
    const owner = await untilAdmission(alice, 'zz-shop', 'web', 'True');
    expect(owner.status?.ingress).toEqual([
      {
        host: 'web-zz-shop.apps.localhost',
        routerName: 'default',
        wildcardPolicy: 'None',
        conditions: [
          { type: 'Admitted', status: 'True', lastTransitionTime: expect.any(String) as string },
        ],
      },
    ]);

    // Timestamps have one-second precision: let bob's routes be strictly newer.
    const born = Date.parse(created.metadata.creationTimestamp ?? '');
    while (Date.now() < born + 1000) await new Promise((r) => setTimeout(r, 50));

    const host = 'web-zz-shop.apps.localhost';
    await bob.create<Route>(routeKind, newRoute('aa-rival', 'a', { host }));
    await bob.create<Route>(routeKind, newRoute('aa-rival', 'admin', { host, path: '/admin' }));
    for (const name of ['a', 'admin']) {
      const refused = await untilAdmission(bob, 'aa-rival', name, 'False');
      expect(admitted(refused)).toMatchObject({
        reason: 'HostAlreadyClaimed',
        message: `route web already exposes ${host} and is older`,
      });
    }

    // A status written by hand does not stick: the controller puts it right.
    const mine = await bob.get<Route>(routeKind, 'a', { namespace: 'aa-rival' });
    await bob.updateStatus(routeKind, {
      ...mine,
      status: {
        ingress: [
          {
            host,
            routerName: 'default',
            conditions: [{ type: 'Admitted', status: 'True' }],
          },
        ],
      },
    });
    await untilAdmission(bob, 'aa-rival', 'a', 'False');
    expect(admitted(await alice.get<Route>(routeKind, 'web', { namespace: 'zz-shop' }))).toEqual(
      admitted(owner),
    );

    // The owner goes: bob's routes take the host, every path of his project.
    await alice.delete(routeKind, 'web', { namespace: 'zz-shop' });
    await untilAdmission(bob, 'aa-rival', 'a', 'True');
    await untilAdmission(bob, 'aa-rival', 'admin', 'True');
  });

  it('puts spec.subdomain under the router domain, and refuses a bad one by its field', async () => {
    const created = await alice.create<Route>(
      routeKind,
      newRoute('zz-shop', 'front', { subdomain: 'frontend' }),
    );
    expect(created.spec.host).toBe('frontend.apps.localhost');
    expect(created.spec.subdomain).toBe('frontend');
    const owner = await untilAdmission(alice, 'zz-shop', 'front', 'True');
    expect(owner.status?.ingress?.[0]?.host).toBe('frontend.apps.localhost');
    const error = await alice
      .create<Route>(routeKind, newRoute('zz-shop', 'bad', { subdomain: 'Front_End' }))
      .catch((err: unknown) => err);
    expect(error).toMatchObject({
      reason: 'Invalid',
      details: {
        causes: [
          { field: 'spec.subdomain', message: expect.stringContaining('"Front_End"') as string },
        ],
      },
    });
    await expect(alice.get<Route>(routeKind, 'bad', { namespace: 'zz-shop' })).rejects.toThrow(
      /not found/,
    );
  });
});
