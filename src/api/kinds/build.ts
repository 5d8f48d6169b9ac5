import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import { checkGitCommit, hasControlCharacter, redactCredentials } from '../git-source.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import {
  BUILD_GROUP,
  commonSpecShape,
  describeSourceShort,
  gitRevisionSchema,
  strategyType,
  validateCommonSpec,
  type CommonSpec,
  type GitRevision,
  type SourceRevision,
} from './build-spec.js';
import { isImageDigest, type ImageReference } from './image-stream.js';
import { goDuration, timeAgo } from './time-columns.js';

export const BUILD_PHASES = [
  'New',
  'Pending',
  'Running',
  'Complete',
  'Failed',
  'Error',
  'Cancelled',
] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];

/** Labels and annotations OpenShift puts on builds and build pods. */
export const BUILD_CONFIG_LABEL = 'buildconfig';
export const BUILD_CONFIG_NAME_LABEL = 'openshift.io/build-config.name';
export const BUILD_CONFIG_ANNOTATION = 'openshift.io/build-config.name';
export const BUILD_NUMBER_ANNOTATION = 'openshift.io/build.number';
export const BUILD_POD_NAME_ANNOTATION = 'openshift.io/build.pod-name';
export const BUILD_NAME_LABEL = 'openshift.io/build.name';
export const BUILD_NAME_ANNOTATION = 'openshift.io/build.name';
export const BUILD_RUN_POLICY_LABEL = 'openshift.io/build.start-policy';

/** Why a build failed or waits: OpenShift's reasons and the messages it pairs with them. */
export const BUILD_REASON_MESSAGES: Readonly<Record<string, string>> = {
  FetchSourceFailed: 'Failed to fetch the input source.',
  PullBuilderImageFailed: 'Failed pulling builder image.',
  GenericBuildFailed: 'Generic Build failure - check logs for details.',
  PushImageToRegistryFailed: 'Failed to push the image to the registry.',
  PostCommitHookFailed: 'Build hook failed.',
  OutOfMemoryKilled: 'The build pod was killed due to an out of memory condition.',
  CancelledBuild: 'The build was cancelled by the user.',
  BuildPodDeleted: 'The pod for this build was deleted before the build completed.',
  BuildPodExists: 'The pod for this build already exists and is older than the build.',
  InvalidImageReference: 'Referenced image could not be resolved.',
  InvalidOutputReference: 'Output image could not be resolved.',
  CannotCreateBuildPod: 'Failed creating build pod.',
  BuildPodEvicted: 'The build pod was evicted.',
};

/** Failure reasons the agent reports in the build container's terminated state. */
export const BUILD_FAILURE_REASONS = [
  'FetchSourceFailed',
  'PullBuilderImageFailed',
  'GenericBuildFailed',
  'PushImageToRegistryFailed',
  'PostCommitHookFailed',
  'OutOfMemoryKilled',
] as const;

export interface BuildTriggerCause {
  message: string;
  genericWebHook?: { revision?: SourceRevision };
  githubWebHook?: { revision?: SourceRevision };
  imageChangeBuild?: { imageID?: string; fromRef?: ImageReference };
  [field: string]: unknown;
}

export interface BuildSpec extends CommonSpec {
  triggeredBy?: BuildTriggerCause[] | null;
}

export interface BuildStatus {
  phase?: BuildPhase;
  /** Set by users (`cancel-build`); the build controller then stops the build. */
  cancelled?: boolean;
  reason?: string;
  message?: string;
  startTimestamp?: string;
  completionTimestamp?: string;
  /** Nanoseconds, as OpenShift's time.Duration. */
  duration?: number;
  outputDockerImageReference?: string;
  config?: { kind: 'BuildConfig'; namespace?: string; name: string };
  output?: { to?: { imageDigest?: string } };
  logSnippet?: string;
}

export interface Build extends ApiObject {
  metadata: ObjectMeta;
  spec: BuildSpec;
  status?: BuildStatus;
}

/**
 * What the agent writes into the build container's `state.terminated.message` (JSON): see
 * docs/builds-contract.md.
 */
export interface BuildResult {
  message?: string;
  outputImageDigest?: string;
  outputDockerImageReference?: string;
  revision?: GitRevision;
  /** The last lines of the build log, for a build that failed (`status.logSnippet`). */
  logSnippet?: string;
}

/** The most of a build log's tail a Build keeps. */
export const LOG_SNIPPET_MAX = 4096;

const buildResultSchema = z.looseObject({
  message: z.string().optional(),
  logSnippet: z.string().optional(),
  outputImageDigest: z.string().optional(),
  outputDockerImageReference: z.string().optional(),
  revision: gitRevisionSchema.optional(),
});

/** Parses a terminated message as a BuildResult; undefined when it is not one. Fields that
 * fail their checks (a digest that is not `sha256:<64 hex>`, a reference with whitespace, a
 * commit that is not hexadecimal) are dropped; the message is kept free of credentials. */
export function parseBuildResult(text: string | undefined): BuildResult | undefined {
  if (!text || !text.trimStart().startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = buildResultSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const r = parsed.data;
  const out: BuildResult = {};
  if (r.message) out.message = redactCredentials(r.message).slice(0, 4096);
  if (r.logSnippet) out.logSnippet = redactCredentials(r.logSnippet).slice(-LOG_SNIPPET_MAX);
  if (r.outputImageDigest && isImageDigest(r.outputImageDigest)) {
    out.outputImageDigest = r.outputImageDigest;
  }
  const ref = r.outputDockerImageReference;
  if (
    ref &&
    ref.length <= 1024 &&
    !/\s/.test(ref) &&
    !hasControlCharacter(ref) &&
    !ref.startsWith('-')
  ) {
    out.outputDockerImageReference = ref;
  }
  if (r.revision) {
    const { commit, ...rest } = r.revision;
    const revision: GitRevision = { ...rest };
    if (commit && checkGitCommit(commit).length === 0) revision.commit = commit;
    if (revision.message) revision.message = revision.message.slice(0, 4096);
    out.revision = revision;
  }
  return out;
}

export function isBuildFinished(phase: BuildPhase | undefined): boolean {
  return phase === 'Complete' || phase === 'Failed' || phase === 'Error' || phase === 'Cancelled';
}

/** `BUILD-build`: the build's pod. */
export function buildPodName(buildName: string): string {
  return `${buildName}-build`;
}

/** The build's number among its configuration's builds (annotation, else the name's suffix). */
export function buildNumber(build: Build): number | undefined {
  const text =
    build.metadata.annotations?.[BUILD_NUMBER_ANNOTATION] ??
    /-(\d+)$/.exec(build.metadata.name ?? '')?.[1];
  const n = text === undefined ? NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The name of the BuildConfig a build came from, if any. */
export function buildConfigNameOf(build: Build): string | undefined {
  return (
    build.metadata.annotations?.[BUILD_CONFIG_ANNOTATION] ??
    build.metadata.labels?.[BUILD_CONFIG_NAME_LABEL] ??
    build.status?.config?.name
  );
}

/** STATUS column: the phase, with the reason in parentheses: `Failed (FetchSourceFailed)`. */
export function buildDisplayStatus(build: Build): string {
  const phase = build.status?.phase ?? 'New';
  const reason = build.status?.reason;
  return reason ? `${phase} (${reason})` : phase;
}

function durationColumn(build: Build): string {
  const ns = build.status?.duration;
  if (typeof ns === 'number' && ns > 0) return goDuration(ns / 1e6);
  return '';
}

function validateBuild(build: Build): StatusCause[] {
  return validateCommonSpec(build.spec);
}

const schema = z.looseObject({
  spec: z.looseObject({
    ...commonSpecShape,
    triggeredBy: z
      .array(z.looseObject({ message: z.string().optional() }))
      .nullable()
      .optional(),
  }),
  status: z
    .looseObject({
      phase: z.enum(BUILD_PHASES).optional(),
      cancelled: z.boolean().optional(),
      reason: z.string().optional(),
      message: z.string().optional(),
      duration: z.number().optional(),
    })
    .optional(),
});

/**
 * Build: one run of a BuildConfig (or a build created on its own). Its status belongs to the
 * build controller; users may only set `status.cancelled` (master/server/build-admission.ts).
 */
export const buildKind = defineKind<Build>({
  kind: 'Build',
  group: BUILD_GROUP,
  version: 'v1',
  plural: 'builds',
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  validate: validateBuild,
  fieldSelectors: {
    status: (b) => b.status?.phase ?? 'New',
    'status.phase': (b) => b.status?.phase ?? 'New',
  },
  columns: [
    { header: 'TYPE', value: (b) => strategyType(b.spec?.strategy) ?? '' },
    { header: 'FROM', value: (b) => describeSourceShort(b.spec) },
    { header: 'STATUS', value: buildDisplayStatus },
    { header: 'STARTED', value: (b, now) => timeAgo(b.status?.startTimestamp, now) },
    { header: 'DURATION', value: durationColumn },
  ],
});
