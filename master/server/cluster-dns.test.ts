import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { builtinKinds, serviceKind } from '../../src/api/kinds/index.js';
import type { Service } from '../../src/api/kinds/service.js';
import { silentLogger } from '../../src/util/logger.js';
import { installAdmission } from '../admission/index.js';
import { clusterDnsIp, parseCidr, type Cidr } from '../admission/service-ip.js';
import { MemoryStore } from '../store/memory.js';
import { ensureClusterDnsService } from './cluster-dns.js';
import { Projects } from './projects.js';
import { ResourceStore } from './resources.js';

async function setup(cidrText = '10.96.0.0/24') {
  const cidr = parseCidr(cidrText) as Cidr;
  const resources = new ResourceStore({ store: new MemoryStore(), registry: builtinKinds() });
  const projects = new Projects(resources, silentLogger());
  installAdmission({ resources, projects, logger: silentLogger(), serviceCidr: cidr });
  await projects.ensureBootstrap();
  await projects.request({ metadata: { name: 'p' } });
  const create = async (name: string, spec: Record<string, unknown> = {}): Promise<Service> =>
    (await resources.create(serviceKind, 'p', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ port: 80 }], ...spec },
    })) as Service;
  return { cidr, resources, create };
}

describe('the cluster DNS service', () => {
  it('is the 10th address of the range', () => {
    expect(clusterDnsIp(parseCidr('172.30.0.0/16') as Cidr)).toBe('172.30.0.10');
    expect(clusterDnsIp(parseCidr('10.0.0.0/28') as Cidr)).toBe('10.0.0.10');
    expect(clusterDnsIp(parseCidr('10.0.0.0/29') as Cidr)).toBeUndefined();
  });

  it('is created at start in openshift-dns, once, with both DNS ports', async () => {
    const { cidr, resources } = await setup();
    await ensureClusterDnsService(resources, cidr, silentLogger());
    await ensureClusterDnsService(resources, cidr, silentLogger());
    const svc = (await resources.get(serviceKind, 'openshift-dns', 'dns-default')) as Service;
    expect(svc.spec.clusterIP).toBe('10.96.0.10');
    expect(svc.spec.ports).toEqual([
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
    ]);
    expect(svc.spec.selector).toBeUndefined();
  });

  it('keeps its address from every other Service', async () => {
    const { create } = await setup();
    const ips: string[] = [];
    for (let i = 0; i < 10; i++) ips.push((await create(`s${i}`)).spec.clusterIP!);
    expect(ips).toContain('10.96.0.9');
    expect(ips).toContain('10.96.0.11');
    expect(ips).not.toContain('10.96.0.10');
    const err = await create('taker', { clusterIP: '10.96.0.10' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toContain('provided IP is already allocated');
  });

  it('is skipped when the range is too small', async () => {
    const { cidr, resources } = await setup('10.96.0.0/29');
    await ensureClusterDnsService(resources, cidr, silentLogger());
    await expect(resources.get(serviceKind, 'openshift-dns', 'dns-default')).rejects.toThrow(
      /not found/,
    );
  });
});
