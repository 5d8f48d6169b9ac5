/**
 * The labels that prove the agent owns a Docker object and let a restarted agent rediscover every
 * pod from Docker alone (it keeps no local state). Pure: no Docker client here.
 *
 * Ownership rule: the agent changes a container or volume only when it carries
 * `io.slipway.managed-by=slipway-agent` AND `io.slipway.node=<this node>`.
 */

export const LABELS = {
  managedBy: 'io.slipway.managed-by',
  node: 'io.slipway.node',
  podUid: 'io.slipway.pod.uid',
  podNamespace: 'io.slipway.pod.namespace',
  podName: 'io.slipway.pod.name',
  /** Seconds the pod's containers get between SIGTERM and SIGKILL (for orphan clean-up). */
  podGracePeriod: 'io.slipway.pod.termination-grace-period',
  /** The pod's container name, or `POD` for the sandbox. */
  containerName: 'io.slipway.container.name',
  /** Spec hash: a different hash means the container no longer matches the pod spec. */
  containerHash: 'io.slipway.container.hash',
  /** The pod container's restartCount when this instance was created. */
  restartCount: 'io.slipway.container.restart-count',
  /** Sequence number of this instance of the pod container (part of the Docker name). */
  attempt: 'io.slipway.container.attempt',
  /**
   * Restart back-off (ms) to wait after this instance dies before the next one starts, unless it
   * ran long enough to reset the back-off: keeps CrashLoopBackOff going across agent restarts.
   */
  backoff: 'io.slipway.container.backoff-ms',
  /**
   * `true` when the container runs as its image's USER: only for pods admitted under a policy
   * that allows it (anyuid) and naming no runAsUser. Otherwise User is a numeric UID:GID.
   */
  imageUser: 'io.slipway.container.image-user',
  /** JSON of lifecycle.preStop, so a pod deleted while the agent was down still gets its hook. */
  preStop: 'io.slipway.container.pre-stop',
  /** The pod volume a Docker volume backs. */
  volumeName: 'io.slipway.volume.name',
  /** emptyDir | configMap | secret */
  volumeKind: 'io.slipway.volume.kind',
} as const;

export const MANAGED_BY = 'slipway-agent';
/** The container name of a pod's sandbox (infra) container. */
export const SANDBOX_NAME = 'POD';

export type Labels = Record<string, string>;

/** Docker label filters (`key=value`) selecting everything this node's agent owns. */
export function ownedFilters(node: string, extra: Labels = {}): string[] {
  return [
    `${LABELS.managedBy}=${MANAGED_BY}`,
    `${LABELS.node}=${node}`,
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ];
}

/** True only for objects the agent of `node` created. */
export function isOwned(labels: Labels | null | undefined, node: string): boolean {
  return labels?.[LABELS.managedBy] === MANAGED_BY && labels[LABELS.node] === node;
}

export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

export function podLabels(node: string, pod: PodRef): Labels {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.node]: node,
    [LABELS.podUid]: pod.uid,
    [LABELS.podNamespace]: pod.namespace,
    [LABELS.podName]: pod.name,
  };
}

/** What the labels of one managed container say about it. */
export interface ContainerLabelInfo extends PodRef {
  node: string;
  containerName: string;
  isSandbox: boolean;
  hash: string;
  attempt: number;
  restartCount: number;
  /** Restart back-off after this instance dies (ms); 0 when unlabelled. */
  backoffMs: number;
  gracePeriodSeconds: number | undefined;
  preStop: unknown;
}

function int(value: string | undefined, fallback: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** Parses a managed container's labels; undefined when the container is not a pod container. */
export function parseContainerLabels(
  labels: Labels | null | undefined,
): ContainerLabelInfo | undefined {
  if (!labels || labels[LABELS.managedBy] !== MANAGED_BY) return undefined;
  const uid = labels[LABELS.podUid];
  const containerName = labels[LABELS.containerName];
  if (!uid || !containerName) return undefined;
  let preStop: unknown;
  const raw = labels[LABELS.preStop];
  if (raw) {
    try {
      preStop = JSON.parse(raw);
    } catch {
      preStop = undefined;
    }
  }
  const grace = labels[LABELS.podGracePeriod];
  return {
    uid,
    namespace: labels[LABELS.podNamespace] ?? '',
    name: labels[LABELS.podName] ?? '',
    node: labels[LABELS.node] ?? '',
    containerName,
    isSandbox: containerName === SANDBOX_NAME,
    hash: labels[LABELS.containerHash] ?? '',
    attempt: int(labels[LABELS.attempt], 0),
    restartCount: int(labels[LABELS.restartCount], 0),
    backoffMs: int(labels[LABELS.backoff], 0),
    gracePeriodSeconds: grace === undefined ? undefined : int(grace, 30),
    preStop,
  };
}

/** Docker object names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; anything else becomes `-`. */
function dockerSafe(s: string): string {
  return s.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/**
 * `slipway_<container>_<pod>_<namespace>_<uid>_<attempt>`: unique per instance, so creating the
 * same instance twice is a 409 the runtime turns into adoption, never a duplicate.
 */
export function containerDockerName(pod: PodRef, containerName: string, attempt: number): string {
  return ['slipway', containerName, pod.name, pod.namespace, pod.uid, String(attempt)]
    .map(dockerSafe)
    .join('_');
}

/** `slipway-<uid>-<volume>`: one Docker volume per pod volume, for the pod's lifetime. */
export function volumeDockerName(podUid: string, volumeName: string): string {
  return `slipway-${dockerSafe(podUid)}-${dockerSafe(volumeName)}`;
}
