import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { builtinKinds, serviceKind } from '../../src/api/kinds/index.js';
import type { Service } from '../../src/api/kinds/service.js';
import { silentLogger } from '../../src/util/logger.js';
import { Projects } from '../server/projects.js';
import { ResourceStore } from '../server/resources.js';
import { MemoryStore } from '../store/memory.js';
import { installAdmission } from './index.js';
import { NODE_PORT_PREFIX, parsePortRange, type PortRange } from './node-ports.js';

// Node ports through the resource store with admission installed, on a memory store; the real
// API server and store are in test/api/crud.test.ts, the rules on the node in
// test/agent/services.test.ts.

async function setup(range = '30000-30003') {
  const store = new MemoryStore();
  const resources = new ResourceStore({ store, registry: builtinKinds() });
  const projects = new Projects(resources, silentLogger());
  installAdmission({
    resources,
    projects,
    logger: silentLogger(),
    nodePortRange: parsePortRange(range) as PortRange,
  });
  for (const p of ['p', 'q']) await projects.request({ metadata: { name: p } });
  const create = async (
    name: string,
    spec: Record<string, unknown> = {},
    ns = 'p',
  ): Promise<Service> =>
    (await resources.create(serviceKind, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { type: 'NodePort', ports: [{ port: 80 }], ...spec },
    })) as Service;
  const update = async (name: string, spec: Record<string, unknown>): Promise<Service> => {
    const current = (await resources.get(serviceKind, 'p', name)) as Service;
    return (await resources.update(serviceKind, 'p', name, {
      ...current,
      spec: { ...current.spec, ...spec },
    })) as Service;
  };
  const reserved = async (): Promise<number[]> =>
    (await store.list(NODE_PORT_PREFIX)).items
      .map((kv) => Number(kv.key.slice(NODE_PORT_PREFIX.length)))
      .sort();
  return { store, resources, projects, create, update, reserved };
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

const nodePorts = (svc: Service): (number | undefined)[] =>
  (svc.spec.ports ?? []).map((p) => p.nodePort);

describe('parsePortRange', () => {
  it('takes FIRST-LAST and refuses the rest', () => {
    expect(parsePortRange('30000-32767')).toEqual({
      text: '30000-32767',
      first: 30000,
      last: 32767,
    });
    for (const bad of ['30000', '2-1', '0-10', '1-65536', 'a-b']) {
      expect(parsePortRange(bad)).toMatch(/FIRST-LAST/);
    }
  });
});

describe('NodePort allocation', () => {
  it('gives every port of a NodePort or LoadBalancer Service a free port, and says when none is left', async () => {
    const { create, reserved } = await setup();
    const a = await create('a', {
      ports: [
        { name: 'http', port: 80 },
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    });
    const [http, dnsUdp, dnsTcp] = nodePorts(a);
    // The TCP and UDP ports of one number share a node port.
    expect(dnsUdp).toBe(dnsTcp);
    expect(new Set([http, dnsUdp]).size).toBe(2);
    const b = await create('b', { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' });
    expect(b.spec.externalTrafficPolicy).toBe('Cluster');
    expect(await reserved()).toHaveLength(3);
    const c = await create('c');
    expect(nodePorts(c)[0]).toBeGreaterThanOrEqual(30000);
    expect(await reserved()).toEqual([30000, 30001, 30002, 30003]);
    const full = await failure(create('d'));
    expect(full.message).toMatch(/failed to allocate a nodePort: range 30000-30003 is full/);
    // ClusterIP Services take none.
    const plain = await create('plain', { type: 'ClusterIP' });
    expect(nodePorts(plain)).toEqual([undefined]);
  });

  it('checks a port asked for: in range and free, across projects', async () => {
    const { create } = await setup();
    expect(nodePorts(await create('a', { ports: [{ port: 80, nodePort: 30002 }] }))).toEqual([
      30002,
    ]);
    const taken = await failure(create('b', { ports: [{ port: 80, nodePort: 30002 }] }, 'q'));
    expect(taken.code).toBe(422);
    expect(taken.details?.causes).toEqual([
      expect.objectContaining({
        field: 'spec.ports[0].nodePort',
        message: 'Invalid value: 30002: provided port is already allocated',
      }),
    ]);
    const outside = await failure(create('c', { ports: [{ port: 80, nodePort: 8080 }] }));
    expect(outside.details?.causes?.[0]?.message).toMatch(
      /provided port is not in the valid range. The range of valid ports is 30000-30003/,
    );
    const onClusterIp = await failure(
      create('d', { type: 'ClusterIP', ports: [{ port: 80, nodePort: 30001 }] }),
    );
    expect(onClusterIp.details?.causes?.[0]).toMatchObject({
      field: 'spec.ports[0].nodePort',
      message: "Forbidden: may not be used when `type` is 'ClusterIP'",
    });
    const headless = await failure(create('e', { clusterIP: 'None' }));
    expect(headless.details?.causes?.[0]?.field).toBe('spec.clusterIP');
  });

  it('keeps, adds and gives up ports on update, in the same write', async () => {
    const { create, update, reserved, resources } = await setup();
    const created = await create('a', { ports: [{ name: 'http', port: 80 }] });
    const first = nodePorts(created)[0]!;
    // An update that leaves nodePort out keeps it (as kubectl apply sends it).
    const kept = await update('a', {
      ports: [{ name: 'http', port: 80 }],
      sessionAffinity: 'ClientIP',
    });
    expect(nodePorts(kept)).toEqual([first]);
    expect(kept.metadata.generation).toBe(2);
    // A port renamed but the same number keeps it; a new port gets another.
    const added = await update('a', {
      ports: [
        { name: 'web', port: 80 },
        { name: 'admin', port: 9000 },
      ],
    });
    const [web, admin] = nodePorts(added);
    expect(web).toBe(first);
    expect(admin).not.toBe(first);
    expect(await reserved()).toEqual([first, admin].sort());
    // Moving to another port number gives the old one up.
    const free = [30000, 30001, 30002, 30003].find((p) => p !== first && p !== admin)!;
    const moved = await update('a', {
      ports: [
        { name: 'web', port: 80, nodePort: free },
        { name: 'admin', port: 9000 },
      ],
    });
    expect(nodePorts(moved)[0]).toBe(free);
    expect(await reserved()).toEqual([nodePorts(moved)[0], admin].sort());
    // Back to ClusterIP: every port is released and the nodePorts go.
    const plain = await update('a', {
      type: 'ClusterIP',
      externalTrafficPolicy: undefined,
      ports: [
        { name: 'web', port: 80 },
        { name: 'admin', port: 9000 },
      ],
    });
    expect(nodePorts(plain)).toEqual([undefined, undefined]);
    expect(plain.spec.externalTrafficPolicy).toBeUndefined();
    expect(await reserved()).toEqual([]);
    // And to NodePort again.
    expect(nodePorts(await update('a', { type: 'NodePort' }))).toHaveLength(2);
    expect(await reserved()).toHaveLength(2);
    // A refused update changes nothing.
    await create('b', { ports: [{ port: 80 }] });
    const before = await reserved();
    const other = nodePorts((await resources.get(serviceKind, 'p', 'b')) as Service)[0];
    const refused = await failure(
      update('a', { ports: [{ name: 'web', port: 80, nodePort: other }] }),
    );
    expect(refused.message).toMatch(/provided port is already allocated/);
    expect(await reserved()).toEqual(before);
  });

  it('frees the ports of a deleted Service and of a deleted project', async () => {
    const { create, reserved, resources, projects } = await setup();
    await create('a', { ports: [{ port: 80, nodePort: 30001 }] });
    await create('b', {}, 'q');
    expect(await reserved()).toHaveLength(2);
    await resources.delete(serviceKind, 'p', 'a');
    expect(await reserved()).toHaveLength(1);
    await create('c', { ports: [{ port: 80, nodePort: 30001 }] });
    await projects.delete('q');
    expect(await reserved()).toEqual([30001]);
  });
});
