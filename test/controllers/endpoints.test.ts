// ClusterIP and NodePort allocation and the endpoints controller inside a real master, over HTTP, with pods
// on a simulated node whose status the test posts as an agent would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, endpointsKind, podKind, serviceKind, type Pod } from '../../src/api/index.js';
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import type { Service } from '../../src/api/kinds/service.js';
import { podSpec, SimulatedNode, startCluster, waitFor, type Cluster } from './support.js';

let c: Cluster;
const NS = 'apps';
/** 16 addresses: .0 network, .1 reserved, .15 broadcast, so 13 to allocate. */
const CIDR = '10.96.0.0/28';
/** Six node ports. */
const NODE_PORTS = '30100-30105';

beforeEach(async () => {
  c = await startCluster({ serviceCidr: CIDR, serviceNodePortRange: NODE_PORTS });
  await c.admin.createProjectRequest({ name: NS });
});

afterEach(async () => {
  await c.close();
});

function serviceBody(name: string, spec: Record<string, unknown> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...spec },
  };
}

function createService(name: string, spec: Record<string, unknown> = {}): Promise<Service> {
  return c.admin.create<Service>(serviceKind, serviceBody(name, spec), { namespace: NS });
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('ClusterIP allocation', () => {
  it('gives each Service its own IP in range, even when created at once, and frees it on delete', async () => {
    // 10.96.0.2-14 are the range's 13 addresses; .10 is the cluster DNS Service's (the master
    // makes it at start), which leaves 12.
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => createService(`s${i}`)));
    const ips = made.map((s) => s.spec.clusterIP ?? '');
    expect(new Set(ips).size).toBe(12);
    expect(ips).not.toContain('10.96.0.10');
    for (const s of made) {
      expect(s.spec.clusterIPs).toEqual([s.spec.clusterIP]);
      const last = Number(s.spec.clusterIP?.split('.')[3]);
      expect(s.spec.clusterIP?.startsWith('10.96.0.')).toBe(true);
      expect(last).toBeGreaterThanOrEqual(2);
      expect(last).toBeLessThanOrEqual(14);
    }
    const full = await failure(createService('one-too-many'));
    expect(full.code).toBe(500);
    expect(full.message).toContain('failed to allocate a serviceIP: range is full');

    await c.admin.delete(serviceKind, 's4', { namespace: NS });
    const again = await createService('again');
    expect(again.spec.clusterIP).toBe(made[4]!.spec.clusterIP);

    const taken = await failure(createService('dup', { clusterIP: made[0]!.spec.clusterIP }));
    expect(taken.code).toBe(422);
    expect(taken.message).toContain('spec.clusterIP');
    expect(taken.message).toContain('provided IP is already allocated');

    const moved = await failure(
      c.admin.patch(serviceKind, 's0', { spec: { clusterIP: '10.96.0.99' } }, { namespace: NS }),
    );
    expect(moved.code).toBe(422);
    expect(moved.message).toContain(
      'spec.clusterIP: Invalid value: "10.96.0.99": field is immutable',
    );
  });

  it('refuses an IP outside the range', async () => {
    const out = await failure(createService('out', { clusterIP: '10.97.0.5' }));
    expect(out.code).toBe(422);
    expect(out.message).toContain(
      'spec.clusterIP: Invalid value: "10.97.0.5": failed to allocate IP 10.97.0.5: provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/28',
    );
  });
});

describe('NodePort allocation', () => {
  it('gives concurrent Services distinct node ports, keeps them on update and frees them', async () => {
    const made = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createService(`np${i}`, { type: 'NodePort' })),
    );
    const ports = made.map((s) => s.spec.ports?.[0]?.nodePort ?? 0);
    expect(new Set(ports).size).toBe(6);
    expect(Math.min(...ports)).toBe(30100);
    expect(Math.max(...ports)).toBe(30105);
    const full = await failure(createService('one-too-many', { type: 'LoadBalancer' }));
    expect(full.code).toBe(500);
    expect(full.message).toContain('failed to allocate a nodePort: range 30100-30105 is full');

    // A merge patch that replaces the ports without nodePort keeps the one the port had.
    const patched = await c.admin.patch<Service>(
      serviceKind,
      'np0',
      { spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
      { namespace: NS },
    );
    expect(patched.spec.ports?.[0]?.nodePort).toBe(ports[0]);

    // Back to ClusterIP frees it (in the same write), so another Service may take it.
    const plain = await c.admin.patch<Service>(
      serviceKind,
      'np0',
      { spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
      { namespace: NS },
    );
    expect(plain.spec.ports?.[0]?.nodePort).toBeUndefined();
    const taker = await createService('taker', {
      type: 'NodePort',
      ports: [{ name: 'http', port: 80, nodePort: ports[0] }],
    });
    expect(taker.spec.ports?.[0]?.nodePort).toBe(ports[0]);

    const taken = await failure(
      c.admin.patch(
        serviceKind,
        'np1',
        { spec: { ports: [{ name: 'http', port: 80, nodePort: ports[0] }] } },
        {
          namespace: NS,
        },
      ),
    );
    expect(taken.code).toBe(422);
    expect(taken.message).toContain(
      `spec.ports[0].nodePort: Invalid value: ${ports[0]}: provided port is already allocated`,
    );

    await c.admin.delete(serviceKind, 'np1', { namespace: NS });
    expect(
      (await createService('after-delete', { type: 'NodePort' })).spec.ports?.[0]?.nodePort,
    ).toBe(ports[1]);
  });
});

describe('endpoints controller', () => {
  const node = 'n1';

  async function startPod(name: string, ip: string): Promise<void> {
    const spec = podSpec(name, { nodeName: node });
    spec.metadata.labels = { app: 'web' };
    spec.spec.containers[0]!.ports = [{ name: 'http', containerPort: 8080 }];
    await c.admin.create<Pod>(podKind, spec, { namespace: NS });
    await setReady(name, ip, true);
  }

  async function setReady(name: string, ip: string, ready: boolean): Promise<void> {
    await c.admin.patch(
      podKind,
      name,
      {
        status: {
          phase: 'Running',
          podIP: ip,
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        },
      },
      { namespace: NS, subresource: 'status' },
    );
  }

  const endpoints = (): Promise<Endpoints | undefined> =>
    c.admin.get<Endpoints>(endpointsKind, 'web', { namespace: NS }).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    });

  const addresses = (ep: Endpoints | undefined, field: 'addresses' | 'notReadyAddresses') =>
    (ep?.subsets ?? [])
      .flatMap((s) => (s[field] ?? []).map((a) => a.ip))
      .sort()
      .join(',');

  it('keeps Endpoints in line with the pods: ready, not ready, terminating, deleted', async () => {
    const n = new SimulatedNode(c.join, node);
    await n.register();
    await startPod('a', '10.128.0.1');
    await startPod('b', '10.128.0.2');
    await createService('web', { selector: { app: 'web' } });

    const both = await waitFor(
      'both pods ready in the endpoints',
      endpoints,
      (ep) => addresses(ep, 'addresses') === '10.128.0.1,10.128.0.2',
    );
    expect(both!.subsets).toHaveLength(1);
    expect(both!.subsets![0]!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const a = both!.subsets![0]!.addresses!.find((x) => x.ip === '10.128.0.1')!;
    expect(a.nodeName).toBe(node);
    expect(a.targetRef).toMatchObject({ kind: 'Pod', namespace: NS, name: 'a' });
    expect(a.targetRef?.uid).toBeTruthy();

    await setReady('b', '10.128.0.2', false);
    await waitFor(
      'b not ready',
      endpoints,
      (ep) =>
        addresses(ep, 'addresses') === '10.128.0.1' &&
        addresses(ep, 'notReadyAddresses') === '10.128.0.2',
    );

    // A bound pod's DELETE only marks it terminating: it leaves the endpoints at once.
    await c.admin.delete(podKind, 'a', { namespace: NS });
    const terminating = await c.admin.get<Pod>(podKind, 'a', { namespace: NS });
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    await waitFor(
      'a gone from the endpoints',
      endpoints,
      (ep) => addresses(ep, 'addresses') === '',
    );

    await c.admin.delete(podKind, 'b', { namespace: NS, gracePeriodSeconds: 0 });
    await waitFor(
      'no addresses left',
      endpoints,
      (ep) => ep !== undefined && (ep.subsets ?? []).length === 0,
    );

    await c.admin.delete(serviceKind, 'web', { namespace: NS });
    await waitFor('the endpoints deleted with the service', endpoints, (ep) => ep === undefined);
  });

  it('leaves the Endpoints of a Service without a selector to their user', async () => {
    await createService('web', { ports: [{ port: 5432 }] });
    await c.admin.create<Endpoints>(
      endpointsKind,
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'web' },
        subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }],
      },
      { namespace: NS },
    );
    // Something the controller acts on, in the same namespace, to know it has looked.
    await createService('other', { selector: { app: 'x' } });
    await waitFor(
      'the other service endpoints',
      () =>
        c.admin
          .get<Endpoints>(endpointsKind, 'other', { namespace: NS })
          .then((e) => e as Endpoints | undefined)
          .catch(() => undefined),
      (ep) => ep !== undefined,
    );
    expect(addresses(await endpoints(), 'addresses')).toBe('192.0.2.10');
  });
});
