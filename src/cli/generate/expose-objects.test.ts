import { describe, expect, it } from 'vitest';
import type { ApiObject, Service } from '../../api/index.js';
import {
  containerPortsOf,
  routeForService,
  selectorOf,
  serviceForWorkload,
} from './expose-objects.js';

function service(ports: Service['spec']['ports'], labels?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'demo', ...(labels ? { labels } : {}) },
    spec: { selector: { app: 'web' }, ports },
  };
}

const dc: ApiObject = {
  apiVersion: 'apps.openshift.io/v1',
  kind: 'DeploymentConfig',
  metadata: { name: 'frontend', labels: { app: 'frontend', tier: 'web' } },
  spec: {
    selector: { deploymentconfig: 'frontend' },
    template: {
      metadata: { labels: { deploymentconfig: 'frontend' } },
      spec: {
        containers: [
          { name: 'a', ports: [{ containerPort: 8080 }, { containerPort: 8443, protocol: 'TCP' }] },
          { name: 'b', ports: [{ containerPort: 8080 }, { containerPort: 53, protocol: 'UDP' }] },
        ],
      },
    },
  },
};

describe('routeForService', () => {
  it("uses the service's name, labels and first port name, as oc expose", () => {
    const route = routeForService(
      service([{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], { app: 'web' }),
    );
    expect(route).toEqual({
      apiVersion: 'route.openshift.io/v1',
      kind: 'Route',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { to: { kind: 'Service', name: 'web' }, port: { targetPort: 'http' } },
    });
  });

  it("falls back to the port's targetPort; --port, --name, --hostname, --path and -l win", () => {
    const svc = service([
      { port: 53, protocol: 'UDP', targetPort: 53 },
      { port: 80, protocol: 'TCP', targetPort: 8080 },
    ]);
    expect(routeForService(svc).spec.port).toEqual({ targetPort: 8080 });
    const route = routeForService(svc, {
      name: 'public',
      hostname: 'www.example.com',
      path: '/api',
      port: '80',
      labels: { team: 'x' },
    });
    expect(route.metadata).toEqual({ name: 'public', labels: { team: 'x' } });
    expect(route.spec).toEqual({
      host: 'www.example.com',
      path: '/api',
      to: { kind: 'Service', name: 'web' },
      port: { targetPort: 80 },
    });
    expect(routeForService(svc, { port: 'https' }).spec.port).toEqual({ targetPort: 'https' });
  });

  it('refuses a service without TCP ports', () => {
    expect(() => routeForService(service([]))).toThrow(
      'service "web" has no TCP port to route to; add a port to the service first',
    );
    expect(() => routeForService(service(undefined))).toThrow('has no TCP port');
    expect(() =>
      routeForService(service([{ port: 1, protocol: 'TCP' }]), { wildcardPolicy: 'All' }),
    ).toThrow('only "Subdomain" or "None" are supported for wildcard-policy');
  });
});

describe('serviceForWorkload', () => {
  it("selects the workload's pods on every container port, named when several", () => {
    expect(containerPortsOf(dc)).toEqual([
      { port: 8080, protocol: 'TCP' },
      { port: 8443, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
    ]);
    expect(serviceForWorkload(dc)).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'frontend', labels: { app: 'frontend', tier: 'web' } },
      spec: {
        selector: { deploymentconfig: 'frontend' },
        ports: [
          { name: 'port-1', protocol: 'TCP', port: 8080, targetPort: 8080 },
          { name: 'port-2', protocol: 'TCP', port: 8443, targetPort: 8443 },
          { name: 'port-3', protocol: 'UDP', port: 53, targetPort: 53 },
        ],
      },
    });
  });

  it('takes --port, --target-port, --name and -l', () => {
    const svc = serviceForWorkload(dc, {
      name: 'fe',
      port: '80',
      targetPort: 'http',
      labels: { a: 'b' },
    });
    expect(svc.metadata).toEqual({ name: 'fe', labels: { a: 'b' } });
    expect(svc.spec.ports).toEqual([{ protocol: 'TCP', port: 80, targetPort: 'http' }]);
    expect(() => serviceForWorkload(dc, { port: 'http' })).toThrow('must be a port number');
    expect(serviceForWorkload(dc, { port: '80', type: 'loadbalancer' }).spec.type).toBe(
      'LoadBalancer',
    );
    expect(() => serviceForWorkload(dc, { type: 'ExternalName' })).toThrow(
      '--type "ExternalName": must be ClusterIP, NodePort, LoadBalancer',
    );
  });

  it('reads selectors of pods, deployments (matchLabels) and template labels', () => {
    const pod: ApiObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { app: 'p' } },
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] },
    };
    expect(selectorOf(pod)).toEqual({ app: 'p' });
    expect(serviceForWorkload(pod).spec.ports).toEqual([
      { protocol: 'TCP', port: 8080, targetPort: 8080 },
    ]);
    const deployment: ApiObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } } },
      },
    };
    expect(selectorOf(deployment)).toEqual({ app: 'd' });
    const rc: ApiObject = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'r' },
      spec: { template: { metadata: { labels: { app: 'r' } } } },
    };
    expect(selectorOf(rc)).toEqual({ app: 'r' });
  });

  it('refuses what a service cannot select or serve', () => {
    expect(() =>
      selectorOf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} }),
    ).toThrow('the pod "p" has no labels and cannot be exposed');
    expect(() =>
      selectorOf({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: { selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] } },
      }),
    ).toThrow(/matchExpressions/);
    expect(() =>
      serviceForWorkload({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', labels: { a: 'b' } },
        spec: { containers: [{ name: 'c' }] },
      }),
    ).toThrow(
      `couldn't find port via --port flag or introspection: pod "p" declares no container ports`,
    );
  });
});
