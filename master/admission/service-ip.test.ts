import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { builtinKinds, serviceKind } from '../../src/api/kinds/index.js';
import type { Service } from '../../src/api/kinds/service.js';
import { silentLogger } from '../../src/util/logger.js';
import { Projects } from '../server/projects.js';
import { ResourceStore } from '../server/resources.js';
import { MemoryStore } from '../store/memory.js';
import { installAdmission } from './index.js';
import { parseCidr, reservationKey, SERVICE_IP_PREFIX, type Cidr } from './service-ip.js';

async function setup(cidr = '10.0.0.0/29') {
  const store = new MemoryStore();
  const resources = new ResourceStore({ store, registry: builtinKinds() });
  const projects = new Projects(resources, silentLogger());
  installAdmission({
    resources,
    projects,
    logger: silentLogger(),
    serviceCidr: parseCidr(cidr) as Cidr,
  });
  await projects.request({ metadata: { name: 'p' } });
  const create = async (name: string, spec: Record<string, unknown> = {}): Promise<Service> =>
    (await resources.create(serviceKind, 'p', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ port: 80 }], ...spec },
    })) as Service;
  const reserved = async (): Promise<string[]> =>
    (await store.list(SERVICE_IP_PREFIX)).items.map((kv) => kv.key.slice(SERVICE_IP_PREFIX.length));
  return { store, resources, projects, create, reserved };
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

describe('parseCidr', () => {
  it('takes an IPv4 network and refuses the rest', () => {
    expect(parseCidr('172.30.0.0/16')).toEqual({
      text: '172.30.0.0/16',
      base: (172 * 256 + 30) * 65536,
      size: 65536,
    });
    expect(parseCidr('172.30.0.1/16')).toMatch(/host bits/);
    expect(parseCidr('172.30.0.0/31')).toMatch(/IPv4 CIDR/);
    expect(parseCidr('fd00::/64')).toMatch(/IPv4 CIDR/);
    expect(parseCidr('300.0.0.0/8')).toMatch(/IPv4 CIDR/);
  });
});

describe('ClusterIP allocation', () => {
  it('skips the network, first and broadcast addresses and says when the range is full', async () => {
    const { create, reserved } = await setup('10.0.0.0/29');
    const ips: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const svc = await create(`s${i}`);
      expect(svc.spec.clusterIPs).toEqual([svc.spec.clusterIP]);
      ips.push(svc.spec.clusterIP ?? '');
    }
    expect(ips).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect((await reserved()).sort()).toEqual([...ips].sort());
    const full = await failure(create('s5'));
    expect(full.code).toBe(500);
    expect(full.message).toBe(
      'Internal error occurred: failed to allocate a serviceIP: range is full',
    );
  });

  it('gives a requested IP only when it is in range and free', async () => {
    const { create } = await setup('10.0.0.0/24');
    expect((await create('a', { clusterIP: '10.0.0.50' })).spec.clusterIP).toBe('10.0.0.50');
    const taken = await failure(create('b', { clusterIP: '10.0.0.50' }));
    expect(taken.code).toBe(422);
    expect(taken.message).toBe(
      'Service "b" is invalid: spec.clusterIP: Invalid value: "10.0.0.50": failed to allocate IP 10.0.0.50: provided IP is already allocated',
    );
    for (const ip of ['10.0.1.5', '10.0.0.0', '10.0.0.1', '10.0.0.255']) {
      const out = await failure(create('c', { clusterIP: ip }));
      expect(out.code).toBe(422);
      expect(out.message).toContain(
        `spec.clusterIP: Invalid value: "${ip}": failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is 10.0.0.0/24`,
      );
    }
  });

  it('allocates nothing for a headless Service', async () => {
    const { create, reserved } = await setup();
    const svc = await create('h', { clusterIP: 'None' });
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.clusterIPs).toEqual(['None']);
    expect(await reserved()).toEqual([]);
  });

  it('never gives two concurrent creates the same IP', async () => {
    const { create, reserved } = await setup('10.0.0.0/27');
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => create(`c${i}`)));
    const ips = made.map((s) => s.spec.clusterIP);
    expect(new Set(ips).size).toBe(12);
    expect((await reserved()).length).toBe(12);
  });

  it('frees the IP when the Service or its project is deleted', async () => {
    const { create, reserved, resources, projects, store } = await setup();
    const a = await create('a');
    await create('b');
    await resources.delete(serviceKind, 'p', 'a');
    expect(await reserved()).toEqual(['10.0.0.3']);
    expect(await store.get(reservationKey(a.spec.clusterIP ?? ''))).toBeUndefined();
    expect((await create('again')).spec.clusterIP).toBe(a.spec.clusterIP);
    await projects.delete('p');
    expect(await reserved()).toEqual([]);
  });

  it('keeps the ClusterIP on update and refuses to change it', async () => {
    const { create, resources } = await setup();
    const svc = await create('a');
    const ip = svc.spec.clusterIP;
    const { clusterIP: _ip, clusterIPs: _ips, ...rest } = svc.spec;
    const kept = (await resources.update(serviceKind, 'p', 'a', {
      ...svc,
      spec: { ...rest, selector: { app: 'x' } },
    })) as Service;
    expect(kept.spec.clusterIP).toBe(ip);
    expect(kept.spec.clusterIPs).toEqual([ip]);
    const changed = await failure(
      resources.patch(serviceKind, 'p', 'a', 'merge', { spec: { clusterIP: '10.0.0.6' } }),
    );
    expect(changed.code).toBe(422);
    expect(changed.message).toBe(
      'Service "a" is invalid: spec.clusterIP: Invalid value: "10.0.0.6": field is immutable',
    );
    const headless = await failure(
      resources.patch(serviceKind, 'p', 'a', 'merge', { spec: { clusterIP: 'None' } }),
    );
    expect(headless.message).toContain('field is immutable');
  });
});
