/**
 * The build runner's own types. The Build, its result and revision are the shared API kinds
 * (src/api/kinds/build.ts, build-spec.ts); this file adds the failure reasons the agent
 * reports in the build container's terminated state (docs/builds-contract.md) and the outcome
 * the runner leaves for the pod status.
 */
import type { Build, BuildEnvVar, BuildResult, GitRevision } from '../../src/api/index.js';

export type { Build, BuildEnvVar, BuildResult, GitRevision };

export type SourceStrategy = NonNullable<Build['spec']['strategy']['sourceStrategy']>;
export type DockerStrategy = NonNullable<Build['spec']['strategy']['dockerStrategy']>;
export type PostCommitSpec = NonNullable<Build['spec']['postCommit']>;

/** Why a build failed: the build container's terminated reason (OpenShift's words). */
export type BuildFailureReason =
  | 'FetchSourceFailed'
  | 'PullBuilderImageFailed'
  | 'GenericBuildFailed'
  | 'PushImageToRegistryFailed'
  | 'PostCommitHookFailed'
  | 'OutOfMemoryKilled'
  | 'Cancelled'
  | 'Error';

/** The commit as the runner records it: the shared revision plus the author date. */
export interface BuiltRevision extends GitRevision {
  commit: string;
  author: { name: string; email: string };
  committer: { name: string; email: string };
  message: string;
  /** Author date, RFC 3339 (for the image's commit labels). */
  date: string;
}

/** What a finished build leaves behind: success or a failure reason, and the result. */
export interface BuildOutcome {
  /** `Completed` on success. */
  reason: 'Completed' | BuildFailureReason;
  exitCode: number;
  result: BuildResult;
  startedAt: string;
  finishedAt: string;
}

/** A failure the runner reports as the build's reason (its message never carries credentials). */
export class BuildFailure extends Error {
  readonly reason: BuildFailureReason;

  constructor(reason: BuildFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildFailure';
    this.reason = reason;
  }
}

export function isBuildFailure(err: unknown): err is BuildFailure {
  return err instanceof BuildFailure;
}
