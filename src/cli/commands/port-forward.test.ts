import { describe, expect, it } from 'vitest';
import type { Pod, Service } from '../../api/index.js';
import { choosePod } from '../pod-target.js';
import { parseAddresses, parsePortSpecs, serviceTargetPort } from './port-forward.js';

function pod(name: string, phase: string, ready: boolean, created: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, creationTimestamp: created },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'web', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
    status: {
      phase,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  } as Pod;
}

describe('port-forward arguments', () => {
  it('reads REMOTE, LOCAL:REMOTE, :REMOTE and named remote ports', () => {
    expect(parsePortSpecs(['8080', '8888:8080', ':5000', '9000:http'])).toEqual([
      { local: 8080, remote: 8080 },
      { local: 8888, remote: 8080 },
      { local: 0, remote: 5000 },
      { local: 9000, remote: 'http' },
    ]);
  });

  it('refuses what is not a port specification', () => {
    for (const bad of ['0', '70000', 'a:b:c', 'x:8080', '8080:', 'HTTP', '1:2:3']) {
      expect(() => parsePortSpecs([bad]), bad).toThrow(`invalid port specification "${bad}"`);
    }
    expect(() => parsePortSpecs(['http'])).toThrow(
      'a named port needs a local port (LOCAL_PORT:http)',
    );
    expect(() => parsePortSpecs([])).toThrow('at least 1 PORT is required for port-forward');
  });

  it('takes localhost as both loopback addresses', () => {
    expect(parseAddresses('localhost')).toEqual(['127.0.0.1', '::1']);
    expect(parseAddresses('127.0.0.1, 10.0.0.5')).toEqual(['127.0.0.1', '10.0.0.5']);
    expect(() => parseAddresses(' , ')).toThrow('--address: at least one address is required');
  });
});

describe('the pod a service or workload forwards to', () => {
  it('prefers a ready running pod, then a running one, the oldest first', () => {
    const pending = pod('p-pending', 'Pending', false, '2026-01-01T00:00:00Z');
    const notReady = pod('p-starting', 'Running', false, '2026-01-01T00:00:01Z');
    const newer = pod('p-new', 'Running', true, '2026-01-01T00:00:03Z');
    const older = pod('p-old', 'Running', true, '2026-01-01T00:00:02Z');
    expect(choosePod([pending, notReady, newer, older])?.metadata.name).toBe('p-old');
    expect(choosePod([pending, notReady])?.metadata.name).toBe('p-starting');
    const leaving = { ...older, metadata: { ...older.metadata, deletionTimestamp: 'now' } };
    expect(choosePod([leaving])).toBeUndefined();
  });

  it("translates a service port to its target port, by number or by the pod's port name", () => {
    const target = pod('p', 'Running', true, '2026-01-01T00:00:00Z');
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: {
        selector: { app: 'web' },
        ports: [
          { name: 'main', port: 80, targetPort: 'http' },
          { name: 'admin', port: 81, targetPort: 9090 },
          { name: 'same', port: 82 },
          { name: 'gone', port: 83, targetPort: 'metrics' },
        ],
      },
    } as Service;
    expect(serviceTargetPort(service, target, 80)).toBe(8080);
    expect(serviceTargetPort(service, target, 'admin')).toBe(9090);
    expect(serviceTargetPort(service, target, 82)).toBe(82);
    expect(() => serviceTargetPort(service, target, 8080)).toThrow(
      'Service web does not have a service port 8080',
    );
    expect(() => serviceTargetPort(service, target, 83)).toThrow(
      "Pod 'p' does not have a named port 'metrics' (the target port of service port 83)",
    );
  });
});
