/**
 * A finished build pod as the Build's final status: the phase (Complete, Failed, Error,
 * Cancelled), OpenShift's reason and message, times, the output digest and the revision the
 * agent built, from the build container's terminated state and its BuildResult message.
 */
import {
  BUILD_FAILURE_REASONS,
  BUILD_REASON_MESSAGES,
  parseBuildResult,
  redactCredentials,
  type Build,
  type BuildResult,
  type BuildStatus,
  type ContainerStatus,
  type Pod,
} from '../../../src/api/index.js';
import { DOCKER_BUILD_CONTAINER, SOURCE_BUILD_CONTAINER } from './build-pod.js';

export interface FinishedBuild {
  status: BuildStatus;
  result: BuildResult | undefined;
}

/** A timestamp at second precision, as Kubernetes writes them (undefined if unparseable). */
export function toSeconds(ts: string | undefined): string | undefined {
  if (!ts) return undefined;
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return undefined;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Nanoseconds between two timestamps taken at second precision (OpenShift's
 * `status.duration`); never negative. */
export function durationNanos(start: string | undefined, end: string): number | undefined {
  const from = toSeconds(start);
  const to = toSeconds(end);
  if (!from || !to) return undefined;
  return Math.max(0, Date.parse(to) - Date.parse(from)) * 1e6;
}

/** The build container's status (or the pod's only one). */
export function buildContainerStatus(pod: Pod): ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return (
    statuses.find((s) => s.name === SOURCE_BUILD_CONTAINER || s.name === DOCKER_BUILD_CONTAINER) ??
    statuses[0]
  );
}

/** When the build started running, as the pod tells it. */
export function podStartTime(pod: Pod): string | undefined {
  const container = buildContainerStatus(pod);
  return (
    container?.state.running?.startedAt ??
    container?.state.terminated?.startedAt ??
    pod.status?.startTime
  );
}

/** The final status of a build whose pod Succeeded or Failed. `now`: RFC 3339. */
export function finishedBuild(build: Build, pod: Pod, now: string): FinishedBuild {
  const container = buildContainerStatus(pod);
  const terminated = container?.state.terminated ?? container?.lastState?.terminated;
  const result = parseBuildResult(terminated?.message);
  const base: BuildStatus = { ...build.status };
  delete base.reason;
  delete base.message;
  delete base.logSnippet;
  const start = base.startTimestamp ?? toSeconds(terminated?.startedAt ?? podStartTime(pod)) ?? now;
  const status: BuildStatus = {
    ...base,
    startTimestamp: start,
    completionTimestamp: now,
  };
  const duration = durationNanos(start, now);
  if (duration !== undefined) status.duration = duration;

  if (pod.status?.phase === 'Succeeded') {
    status.phase = 'Complete';
    if (result?.outputImageDigest)
      status.output = { to: { imageDigest: result.outputImageDigest } };
    return { status, result };
  }

  const reason = terminated?.reason;
  if (!terminated) {
    status.phase = 'Error';
    status.reason = pod.status?.reason ?? 'NoBuildContainerStatus';
    status.message = redactCredentials(
      pod.status?.message ?? 'The build pod failed without reporting its build container.',
    );
  } else if (reason === 'Cancelled') {
    status.phase = 'Cancelled';
    status.reason = 'CancelledBuild';
    status.message = result?.message ?? BUILD_REASON_MESSAGES.CancelledBuild!;
  } else {
    const known = (BUILD_FAILURE_REASONS as readonly string[]).includes(reason ?? '');
    const mapped = known
      ? reason!
      : reason === 'OOMKilled'
        ? 'OutOfMemoryKilled'
        : 'GenericBuildFailed';
    status.phase = 'Failed';
    status.reason = mapped;
    status.message = result?.message ?? BUILD_REASON_MESSAGES[mapped]!;
    if (result?.logSnippet) status.logSnippet = result.logSnippet;
  }
  return { status, result };
}
