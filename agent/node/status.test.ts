import { describe, expect, it } from 'vitest';
import type { EngineInfo } from '../docker/runtime.js';
import {
  buildNodeStatus,
  conditionEventReason,
  goArch,
  nodeLabels,
  type NodeReport,
} from './status.js';

const engine: EngineInfo = {
  serverVersion: '20.10.24',
  operatingSystem: 'Debian GNU/Linux 12 (bookworm)',
  kernelVersion: '6.1.0',
  architecture: 'x86_64',
  osType: 'linux',
  cpus: 4,
  memoryBytes: 8 * 1024 ** 3,
  dockerRootDir: '/var/lib/docker',
  name: 'host',
  bridgeGateway: '172.17.0.1',
};

function report(over: Partial<NodeReport> = {}): NodeReport {
  return {
    nodeName: 'node-a',
    version: '0.1.0',
    engine,
    lastEngine: engine,
    host: { memoryAvailableBytes: 4 * 1024 ** 3, disk: { totalBytes: 100e9, freeBytes: 50e9 } },
    internalIP: '172.17.0.1',
    ...over,
  };
}

describe('buildNodeStatus', () => {
  it('tells the master where the agent serves logs and exec', () => {
    const s = buildNodeStatus({ ...report(), daemonPort: 41234 }, [], '2026-01-01T00:00:00.000Z');
    expect(s.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 41234 } });
    expect(
      buildNodeStatus(report(), [], '2026-01-01T00:00:00.000Z').daemonEndpoints,
    ).toBeUndefined();
  });

  it('reports capacity, allocatable, addresses, nodeInfo and healthy conditions', () => {
    const s = buildNodeStatus(report(), [], '2026-01-01T00:00:00.000Z');
    expect(s.capacity).toEqual({
      cpu: '4',
      memory: '8388608Ki',
      pods: '110',
      'ephemeral-storage': '97656250Ki',
    });
    expect(s.allocatable).toMatchObject({
      cpu: '3900m',
      memory: `${8388608 - 256 * 1024 - 100 * 1024}Ki`,
      pods: '110',
    });
    expect(s.addresses).toEqual([
      { type: 'InternalIP', address: '172.17.0.1' },
      { type: 'Hostname', address: 'node-a' },
    ]);
    expect(s.nodeInfo).toEqual({
      kubeletVersion: 'v0.1.0',
      containerRuntimeVersion: 'docker://20.10.24',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      kernelVersion: '6.1.0',
      operatingSystem: 'linux',
      architecture: 'amd64',
    });
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ['Ready', 'True', 'KubeletReady'],
    ]);
  });

  it('is NotReady when Docker does not answer, keeping the last known capacity', () => {
    const s = buildNodeStatus(
      report({ engine: undefined, engineError: 'connect ECONNREFUSED' }),
      [],
      'T',
    );
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'KubeletNotReady',
      message: 'container runtime is down: connect ECONNREFUSED',
    });
    expect(s.capacity?.cpu).toBe('4');
  });

  it('reports pressure below kubelet thresholds, and keeps transition times that did not change', () => {
    const s = buildNodeStatus(
      report({
        host: { memoryAvailableBytes: 50 * 1024 ** 2, disk: { totalBytes: 100, freeBytes: 5 } },
      }),
      [
        { type: 'MemoryPressure', status: 'False', lastTransitionTime: 'earlier' },
        { type: 'Ready', status: 'True', lastTransitionTime: 'earlier' },
      ],
      'now',
    );
    const by = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
    expect(by.MemoryPressure).toMatchObject({
      status: 'True',
      lastTransitionTime: 'now',
      lastHeartbeatTime: 'now',
    });
    expect(by.DiskPressure).toMatchObject({ status: 'True', reason: 'KubeletHasDiskPressure' });
    expect(by.Ready).toMatchObject({
      status: 'True',
      lastTransitionTime: 'earlier',
      lastHeartbeatTime: 'now',
    });
  });
});

describe('labels and names', () => {
  it('labels the node as Kubernetes does', () => {
    expect(nodeLabels('node-a', engine)).toEqual({
      'kubernetes.io/hostname': 'node-a',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      'node-role.kubernetes.io/worker': '',
    });
    expect(goArch('aarch64')).toBe('arm64');
    expect(conditionEventReason('Ready', 'False')).toBe('NodeNotReady');
    expect(conditionEventReason('MemoryPressure', 'Unknown')).toBeUndefined();
  });
});
