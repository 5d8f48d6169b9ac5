/**
 * A build pod's status as the build controller reads it (docs/builds-contract.md): Pending with
 * the container waiting in ContainerCreating, Running while the build runs, then Succeeded or
 * Failed with the container terminated: exit code, the failure reason (`Completed` on success)
 * and the BuildResult as JSON in `message`. Conditions and times as kubelet writes them. Pure.
 */
import type { ContainerState, Pod, PodStatus } from '../../src/api/kinds/pod.js';
import { condition, podConditions } from '../pods/status.js';
import type { BuildOutcome } from './types.js';

export type BuildPodState =
  | { phase: 'Pending' }
  | { phase: 'Running'; startedAt: string }
  | { phase: 'Done'; outcome: BuildOutcome };

export function buildPodStatus(
  pod: Pod,
  containerName: string,
  image: string,
  state: BuildPodState,
  hostIP: string | undefined,
  now: string,
): PodStatus {
  const old = pod.status ?? {};
  const oldConditions = old.conditions ?? [];
  let containerState: ContainerState;
  let phase: NonNullable<PodStatus['phase']>;
  if (state.phase === 'Pending') {
    phase = 'Pending';
    containerState = { waiting: { reason: 'ContainerCreating' } };
  } else if (state.phase === 'Running') {
    phase = 'Running';
    containerState = { running: { startedAt: state.startedAt } };
  } else {
    const o = state.outcome;
    phase = o.reason === 'Completed' ? 'Succeeded' : 'Failed';
    containerState = {
      terminated: {
        exitCode: o.exitCode,
        reason: o.reason,
        message: JSON.stringify(o.result),
        startedAt: o.startedAt,
        finishedAt: o.finishedAt,
      },
    };
  }
  const running = phase === 'Running';
  const completed = phase === 'Succeeded' || phase === 'Failed';
  const initialized = condition(
    oldConditions,
    'Initialized',
    'True',
    now,
    completed ? 'PodCompleted' : undefined,
  );
  const status: PodStatus = {
    phase,
    conditions: podConditions(oldConditions, now, {
      initialized,
      ready: running,
      completed,
      unready: [containerName],
    }),
    startTime: old.startTime ?? now,
    containerStatuses: [
      {
        name: containerName,
        state: containerState,
        lastState: {},
        ready: running,
        started: running,
        restartCount: 0,
        image,
        imageID: '',
      },
    ],
  };
  const ip = hostIP ?? old.hostIP;
  if (ip) status.hostIP = ip;
  return status;
}
