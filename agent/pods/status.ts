/**
 * The pod's status from what the agent observed in Docker and the probes, as kubelet computes
 * it: container states (waiting / running / terminated) with the previous instance as
 * lastState, the phase (kubelet's getPhase), the Initialized / ContainersReady / Ready /
 * PodScheduled conditions with their transition times, pod IP and start time. Pure.
 */
import type {
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
} from '../../src/api/kinds/pod.js';
import type { ContainerStateName } from '../docker/inventory.js';
import { canonicalJson } from './hash.js';

/** One Docker instance of a pod container, as inspected. */
export interface InstanceObservation {
  id: string;
  state: ContainerStateName;
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
  /** The engine's error (why start failed). */
  error: string | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** The image reference the instance was created from. */
  image: string;
  /** `docker-pullable://repo@sha256:...` or `docker://sha256:...`. */
  imageID: string;
  restartCount: number;
}

export interface ContainerObservation {
  name: string;
  /** The image the pod spec asks for. */
  specImage: string;
  /** The newest instance. */
  current?: InstanceObservation | undefined;
  /** The newest dead instance older than `current`. */
  previous?: InstanceObservation | undefined;
  /** Why the container is not running, when the agent knows better than Docker (back-off,
   * pull errors, configuration errors, waiting for init containers). */
  waiting?: { reason: string; message?: string | undefined } | undefined;
  /** The readiness probe passes (or there is none) and the startup probe passed. */
  ready: boolean;
  /** The startup probe passed (or there is none). */
  started: boolean;
}

export interface PodStatusInput {
  pod: Pod;
  initContainers: ContainerObservation[];
  containers: ContainerObservation[];
  podIP?: string | undefined;
  hostIP?: string | undefined;
  /** ISO time used for new transitions and startTime. */
  now: string;
  /** The pod as a whole cannot run here (refused by the security policy...). */
  failure?: { reason: string; message: string } | undefined;
}

/** A start that failed leaves Docker's container `created` with an error and an exit code. */
export function startFailed(i: InstanceObservation): boolean {
  return i.state === 'created' && (i.error !== undefined || i.exitCode !== 0);
}

/** The instance ran and ended (or could not start). */
export function isDead(i: InstanceObservation): boolean {
  return i.state === 'exited' || i.state === 'dead' || i.state === 'removing' || startFailed(i);
}

export function isRunning(i: InstanceObservation | undefined): boolean {
  return i !== undefined && (i.running || i.state === 'running' || i.state === 'paused');
}

/** Docker's reason words as Kubernetes reports them. */
export function terminatedReason(i: InstanceObservation): string {
  if (startFailed(i)) return 'ContainerCannotRun';
  if (i.oomKilled) return 'OOMKilled';
  return i.exitCode === 0 ? 'Completed' : 'Error';
}

export function terminatedState(i: InstanceObservation): ContainerState {
  const t: NonNullable<ContainerState['terminated']> = {
    exitCode: startFailed(i) && i.exitCode === 0 ? 128 : i.exitCode,
    reason: terminatedReason(i),
    containerID: `docker://${i.id}`,
  };
  if (startFailed(i) && i.error) t.message = i.error;
  if (i.startedAt) t.startedAt = i.startedAt;
  if (i.finishedAt) t.finishedAt = i.finishedAt;
  return { terminated: t };
}

export function containerStatus(o: ContainerObservation): ContainerStatus {
  const cur = o.current;
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (o.waiting) {
    state = {
      waiting: o.waiting.message
        ? { reason: o.waiting.reason, message: o.waiting.message }
        : { reason: o.waiting.reason },
    };
    if (cur && isDead(cur)) lastState = terminatedState(cur);
    else if (o.previous) lastState = terminatedState(o.previous);
  } else if (cur && isRunning(cur)) {
    state = { running: cur.startedAt ? { startedAt: cur.startedAt } : {} };
    if (o.previous) lastState = terminatedState(o.previous);
  } else if (cur && isDead(cur)) {
    state = terminatedState(cur);
    if (o.previous) lastState = terminatedState(o.previous);
  } else {
    state = { waiting: { reason: 'ContainerCreating' } };
    if (o.previous) lastState = terminatedState(o.previous);
  }
  const running = state.running !== undefined;
  const status: ContainerStatus = {
    name: o.name,
    state,
    lastState,
    ready: running && o.started && o.ready,
    restartCount: cur?.restartCount ?? 0,
    image: cur?.image || o.specImage,
    imageID: cur?.imageID ?? '',
    started: running && o.started,
  };
  if (cur) status.containerID = `docker://${cur.id}`;
  return status;
}

type Phase = NonNullable<PodStatus['phase']>;

/** kubelet's getPhase over the containers' statuses. */
export function podPhase(
  pod: Pod,
  init: readonly ContainerStatus[],
  containers: readonly ContainerStatus[],
): Phase {
  const restartPolicy = pod.spec.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = false;
  for (const s of init) {
    const t = s.state.terminated;
    if (t && t.exitCode === 0) continue;
    pendingInit++;
    const lastFailed = (s.lastState?.terminated?.exitCode ?? 0) !== 0;
    if ((t && t.exitCode !== 0) || (s.state.waiting && lastFailed)) failedInit = true;
  }
  if (failedInit && restartPolicy === 'Never') return 'Failed';
  if (pendingInit > 0) return 'Pending';

  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of containers) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** A condition of `type`, keeping its transition time while its status stays the same. */
export function condition(
  old: readonly PodCondition[],
  type: string,
  status: PodCondition['status'],
  now: string,
  reason?: string,
  message?: string,
): PodCondition {
  const prev = old.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime:
      prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
  };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/**
 * The pod's conditions in kubelet's order: `initialized`; Ready and ContainersReady, True when
 * `ready`, else False with PodCompleted once the pod `completed`, else naming the `unready`
 * containers; PodScheduled, kept once True; then the others as they were.
 */
export function podConditions(
  old: readonly PodCondition[],
  now: string,
  state: { initialized: PodCondition; ready: boolean; completed: boolean; unready: string[] },
): PodCondition[] {
  const readiness = (type: string): PodCondition => {
    if (state.ready) return condition(old, type, 'True', now);
    if (state.completed) return condition(old, type, 'False', now, 'PodCompleted');
    return condition(
      old,
      type,
      'False',
      now,
      'ContainersNotReady',
      `containers with unready status: [${state.unready.join(' ')}]`,
    );
  };
  const scheduled =
    old.find((c) => c.type === 'PodScheduled' && c.status === 'True') ??
    condition(old, 'PodScheduled', 'True', now);
  const others = old.filter(
    (c) => !['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].includes(c.type),
  );
  return [
    state.initialized,
    readiness('Ready'),
    readiness('ContainersReady'),
    scheduled,
    ...others,
  ];
}

/** The whole status the agent reports for the pod. */
export function computePodStatus(input: PodStatusInput): PodStatus {
  const { pod, now } = input;
  const old = pod.status ?? {};
  const oldConditions = old.conditions ?? [];
  const init = input.initContainers.map(containerStatus);
  const containers = input.containers.map(containerStatus);
  const phase: Phase = input.failure ? 'Failed' : podPhase(pod, init, containers);

  const incomplete = init
    .filter((s) => !(s.state.terminated && s.state.terminated.exitCode === 0))
    .map((s) => s.name);
  const unready = containers.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === 'Succeeded';
  const initialized =
    incomplete.length === 0 || completed
      ? condition(oldConditions, 'Initialized', 'True', now, completed ? 'PodCompleted' : undefined)
      : condition(
          oldConditions,
          'Initialized',
          'False',
          now,
          'ContainersNotInitialized',
          `containers with incomplete status: [${incomplete.join(' ')}]`,
        );
  const ready = unready.length === 0 && phase === 'Running';
  const status: PodStatus = {
    phase,
    conditions: podConditions(oldConditions, now, { initialized, ready, completed, unready }),
    startTime: old.startTime ?? now,
    containerStatuses: containers,
  };
  if (pod.spec.initContainers?.length) status.initContainerStatuses = init;
  if (input.failure) {
    status.reason = input.failure.reason;
    status.message = input.failure.message;
  }
  const hostIP = input.hostIP ?? old.hostIP;
  if (hostIP) status.hostIP = hostIP;
  const podIP = input.podIP || old.podIP;
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  // Keep what others (the scheduler, a future agent) set that this function does not own.
  const { qosClass, nominatedNodeName } = old as Record<string, unknown>;
  if (qosClass !== undefined) (status as Record<string, unknown>).qosClass = qosClass;
  if (nominatedNodeName !== undefined)
    (status as Record<string, unknown>).nominatedNodeName = nominatedNodeName;
  return status;
}

/** Whether two statuses say the same (key order ignored). */
export function sameStatus(a: PodStatus | undefined, b: PodStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}
