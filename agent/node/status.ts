/**
 * The Node's labels and status from what the engine and the host report: capacity and
 * allocatable, addresses, nodeInfo and the Ready / MemoryPressure / DiskPressure / PIDPressure
 * conditions with kubelet's reasons and messages. Pure.
 */
import type { NodeCondition, NodeStatus } from '../../src/api/index.js';
import type { EngineInfo } from '../docker/runtime.js';

/** Pods a node takes by default (kubelet's --max-pods). */
export const DEFAULT_MAX_PODS = 110;
/** Kept back from allocatable for the agent, Docker and the system. */
export const RESERVED_CPU_MILLIS = 100;
export const RESERVED_MEMORY_BYTES = 256 * 1024 * 1024;
/** kubelet's default hard eviction thresholds. */
export const MEMORY_PRESSURE_BYTES = 100 * 1024 * 1024;
export const DISK_PRESSURE_FRACTION = 0.1;

export interface HostStats {
  /** Memory available to new work (MemAvailable); undefined when not measurable here. */
  memoryAvailableBytes: number | undefined;
  /** The filesystem of the Docker root directory. */
  disk: { totalBytes: number; freeBytes: number } | undefined;
}

export interface NodeReport {
  nodeName: string;
  /** The agent's version, e.g. `0.1.0`. */
  version: string;
  /** undefined when the engine does not answer. */
  engine: EngineInfo | undefined;
  /** Why the engine did not answer. */
  engineError?: string | undefined;
  /** The last engine info that was known (capacity stays when Docker is briefly away). */
  lastEngine: EngineInfo | undefined;
  host: HostStats;
  internalIP: string | undefined;
  maxPods?: number;
  /** Where the agent serves logs and exec to the master (status.daemonEndpoints). */
  daemonPort?: number | undefined;
}

/** Docker's architecture names as Go (and Kubernetes labels) spell them. */
export function goArch(arch: string): string {
  const map: Record<string, string> = {
    x86_64: 'amd64',
    amd64: 'amd64',
    aarch64: 'arm64',
    arm64: 'arm64',
    armv7l: 'arm',
    armhf: 'arm',
    i386: '386',
    i686: '386',
    ppc64le: 'ppc64le',
    s390x: 's390x',
  };
  return map[arch] ?? (arch || 'amd64');
}

/** The labels the agent owns on its Node. */
export function nodeLabels(
  nodeName: string,
  engine: EngineInfo | undefined,
): Record<string, string> {
  const os = engine?.osType || 'linux';
  const arch = goArch(engine?.architecture ?? process.arch);
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': os,
    'kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': os,
    'beta.kubernetes.io/arch': arch,
    'node-role.kubernetes.io/worker': '',
  };
}

function ki(bytes: number): string {
  return `${Math.max(0, Math.floor(bytes / 1024))}Ki`;
}

function resources(report: NodeReport): Pick<NodeStatus, 'capacity' | 'allocatable'> {
  const engine = report.engine ?? report.lastEngine;
  if (!engine) return {};
  const pods = String(report.maxPods ?? DEFAULT_MAX_PODS);
  const capacity: Record<string, string> = {
    cpu: String(engine.cpus),
    memory: ki(engine.memoryBytes),
    pods,
  };
  const allocatable: Record<string, string> = {
    cpu: `${Math.max(0, engine.cpus * 1000 - RESERVED_CPU_MILLIS)}m`,
    memory: ki(engine.memoryBytes - RESERVED_MEMORY_BYTES - MEMORY_PRESSURE_BYTES),
    pods,
  };
  const disk = report.host.disk;
  if (disk) {
    capacity['ephemeral-storage'] = ki(disk.totalBytes);
    allocatable['ephemeral-storage'] = ki(disk.totalBytes * (1 - DISK_PRESSURE_FRACTION));
  }
  return { capacity, allocatable };
}

interface ConditionValue {
  status: NodeCondition['status'];
  reason: string;
  message: string;
}

function conditionValues(report: NodeReport): Record<string, ConditionValue> {
  const ready: ConditionValue = report.engine
    ? { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
    : {
        status: 'False',
        reason: 'KubeletNotReady',
        message: `container runtime is down: ${report.engineError ?? 'Docker does not answer'}`,
      };
  const mem = report.host.memoryAvailableBytes;
  const memory: ConditionValue =
    mem === undefined
      ? {
          status: 'Unknown',
          reason: 'NodeStatusUnknown',
          message: 'available memory of the Docker host is not measured',
        }
      : mem < MEMORY_PRESSURE_BYTES
        ? {
            status: 'True',
            reason: 'KubeletHasInsufficientMemory',
            message: 'kubelet has insufficient memory available',
          }
        : {
            status: 'False',
            reason: 'KubeletHasSufficientMemory',
            message: 'kubelet has sufficient memory available',
          };
  const disk = report.host.disk;
  const diskValue: ConditionValue =
    disk === undefined
      ? {
          status: 'Unknown',
          reason: 'NodeStatusUnknown',
          message: 'free space of the Docker root directory is not measured',
        }
      : disk.totalBytes > 0 && disk.freeBytes / disk.totalBytes < DISK_PRESSURE_FRACTION
        ? { status: 'True', reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' }
        : {
            status: 'False',
            reason: 'KubeletHasNoDiskPressure',
            message: 'kubelet has no disk pressure',
          };
  return {
    MemoryPressure: memory,
    DiskPressure: diskValue,
    PIDPressure: {
      status: 'False',
      reason: 'KubeletHasSufficientPID',
      message: 'kubelet has sufficient PID available',
    },
    Ready: ready,
  };
}

/** The Node status to post: every condition with this heartbeat's time. */
export function buildNodeStatus(
  report: NodeReport,
  previous: readonly NodeCondition[],
  now: string,
): NodeStatus {
  const values = conditionValues(report);
  const conditions: NodeCondition[] = Object.entries(values).map(([type, v]) => {
    const prev = previous.find((c) => c.type === type);
    return {
      type,
      status: v.status,
      lastHeartbeatTime: now,
      lastTransitionTime:
        prev && prev.status === v.status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
      reason: v.reason,
      message: v.message,
    };
  });
  const engine = report.engine ?? report.lastEngine;
  const addresses: { type: string; address: string }[] = [];
  if (report.internalIP) addresses.push({ type: 'InternalIP', address: report.internalIP });
  addresses.push({ type: 'Hostname', address: report.nodeName });
  const status: NodeStatus = { ...resources(report), conditions, addresses };
  if (report.daemonPort !== undefined) {
    status.daemonEndpoints = { kubeletEndpoint: { Port: report.daemonPort } };
  }
  if (engine) {
    status.nodeInfo = {
      kubeletVersion: `v${report.version}`,
      containerRuntimeVersion: `docker://${engine.serverVersion}`,
      osImage: engine.operatingSystem,
      kernelVersion: engine.kernelVersion,
      operatingSystem: engine.osType || 'linux',
      architecture: goArch(engine.architecture),
    };
  }
  return status;
}

/** Kubelet's node event for a condition's new value, e.g. `NodeHasSufficientMemory`. */
export function conditionEventReason(type: string, status: string): string | undefined {
  switch (type) {
    case 'Ready':
      return status === 'True' ? 'NodeReady' : 'NodeNotReady';
    case 'MemoryPressure':
      return status === 'True'
        ? 'NodeHasInsufficientMemory'
        : status === 'False'
          ? 'NodeHasSufficientMemory'
          : undefined;
    case 'DiskPressure':
      return status === 'True'
        ? 'NodeHasDiskPressure'
        : status === 'False'
          ? 'NodeHasNoDiskPressure'
          : undefined;
    case 'PIDPressure':
      return status === 'True' ? 'NodeHasInsufficientPID' : 'NodeHasSufficientPID';
    default:
      return undefined;
  }
}
