import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import { serviceKind, type Service } from './service.js';

function service(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec };
}

function causes(input: unknown): string[] {
  try {
    validateObject(serviceKind, input);
  } catch (err) {
    if (err instanceof ApiError) {
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    }
    throw err;
  }
  return [];
}

describe('Service validation', () => {
  it("fills Kubernetes' defaults", () => {
    const svc = validateObject(
      serviceKind,
      service({ selector: { app: 'web' }, ports: [{ port: 80 }] }),
    ) as Service;
    expect(svc.spec).toEqual({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      selector: { app: 'web' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    });
  });

  it('needs ports unless headless, and names when there are several', () => {
    expect(causes(service({}))).toEqual(['spec.ports: Required value']);
    expect(causes(service({ clusterIP: 'None' }))).toEqual([]);
    expect(causes(service({ ports: [{ port: 80 }, { port: 443, name: 'https' }] }))).toEqual([
      'spec.ports[0].name: Required value',
    ]);
  });

  it('refuses bad ports, names, duplicate ports and clusterIPs', () => {
    expect(causes(service({ ports: [{ port: 0 }] }))[0]).toMatch(/^spec\.ports\[0\]\.port:/);
    expect(causes(service({ ports: [{ port: 80, targetPort: 70000 }] }))).toEqual([
      'spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
    expect(causes(service({ ports: [{ port: 80, targetPort: 'HTTP' }] }))[0]).toMatch(
      /^spec\.ports\[0\]\.targetPort: Invalid value: "HTTP"/,
    );
    expect(
      causes(
        service({
          ports: [
            { name: 'a', port: 80 },
            { name: 'a', port: 80 },
          ],
        }),
      ),
    ).toEqual([
      'spec.ports[1].name: Duplicate value: "a"',
      'spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}',
    ]);
    expect(causes(service({ clusterIP: '300.1.1.1', ports: [{ port: 80 }] }))).toEqual([
      `spec.clusterIP: Invalid value: "300.1.1.1": must be empty, 'None', or a valid IP address`,
    ]);
    expect(causes(service({ type: 'ExternalName', ports: [{ port: 80 }] }))[0]).toMatch(
      /^spec\.type: Unsupported value: "ExternalName"/,
    );
  });

  it('takes NodePort and LoadBalancer Services and checks their node ports', () => {
    const svc = validateObject(
      serviceKind,
      service({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
    ) as Service;
    expect(svc.spec.externalTrafficPolicy).toBe('Cluster');
    expect(
      causes(
        service({
          type: 'LoadBalancer',
          ports: [
            { name: 'a', port: 53, protocol: 'UDP', nodePort: 30053 },
            { name: 'b', port: 53, protocol: 'TCP', nodePort: 30053 },
          ],
        }),
      ),
    ).toEqual([]);
    expect(
      causes(
        service({
          type: 'NodePort',
          clusterIP: 'None',
          ports: [
            { name: 'a', port: 80, nodePort: 30080 },
            { name: 'b', port: 81, nodePort: 30080 },
            { name: 'c', port: 82, nodePort: 70000 },
          ],
        }),
      ),
    ).toEqual([
      `spec.clusterIP: Invalid value: "None": may not be set to 'None' for NodePort services`,
      'spec.ports[1].nodePort: Duplicate value: 30080',
      'spec.ports[2].nodePort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
    expect(causes(service({ ports: [{ port: 80, nodePort: 30080 }] }))).toEqual([
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    ]);
    // Only the Cluster policy is served: a node sends on to pods of any node.
    expect(
      causes(service({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] })),
    ).toEqual([
      'spec.externalTrafficPolicy: Unsupported value: "Local": supported values: "Cluster"',
    ]);
    // Where nodes do not serve the Service, the policy goes.
    const plain = validateObject(
      serviceKind,
      service({ externalTrafficPolicy: 'Cluster', ports: [{ port: 80 }] }),
    ) as Service;
    expect(plain.spec.externalTrafficPolicy).toBeUndefined();
  });

  it('prints the columns kubectl prints', () => {
    const svc = validateObject(
      serviceKind,
      service({ clusterIP: '172.30.0.10', selector: { app: 'web' }, ports: [{ port: 8080 }] }),
    ) as Service;
    expect(serviceKind.columns.map((c) => c.header)).toEqual([
      'TYPE',
      'CLUSTER-IP',
      'EXTERNAL-IP',
      'PORT(S)',
      'AGE',
      'SELECTOR',
    ]);
    const row = serviceKind.columns.map((c) => c.value(svc, new Date()));
    expect(row).toEqual(['ClusterIP', '172.30.0.10', '<none>', '8080/TCP', '<unknown>', 'app=web']);
    const lb = validateObject(
      serviceKind,
      service({
        type: 'LoadBalancer',
        clusterIP: '172.30.0.11',
        ports: [{ port: 80, nodePort: 31000 }],
      }),
    ) as Service;
    expect(serviceKind.columns.slice(0, 4).map((c) => c.value(lb, new Date()))).toEqual([
      'LoadBalancer',
      '172.30.0.11',
      '<pending>',
      '80:31000/TCP',
    ]);
  });
});
