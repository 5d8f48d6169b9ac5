/**
 * Creating builds from a BuildConfig (`POST .../buildconfigs/NAME/instantiate`, the binary
 * variant, webhooks, the build controllers' triggers) and from another build (`clone`).
 *
 * The build gets the number `status.lastVersion + 1` of its BuildConfig. The BuildConfig's new
 * lastVersion (and, for image triggers, the image that triggered it) and the new Build are
 * written in one store transaction at the BuildConfig's read revision: two concurrent
 * instantiates never get the same number, and a trigger is never recorded without its build.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ApiError, isApiError } from '../../src/api/errors.js';
import { checkGitRef } from '../../src/api/git-source.js';
import { buildConfigKind, buildKind, imageStreamKind } from '../../src/api/kinds/index.js';
import {
  BUILD_CONFIG_ANNOTATION,
  BUILD_CONFIG_LABEL,
  BUILD_CONFIG_NAME_LABEL,
  BUILD_NUMBER_ANNOTATION,
  BUILD_POD_NAME_ANNOTATION,
  BUILD_RUN_POLICY_LABEL,
  buildConfigNameOf,
  buildPodName,
  type Build,
  type BuildTriggerCause,
} from '../../src/api/kinds/build.js';
import {
  imageChangeTriggerFrom,
  imageTriggerKey,
  lastTriggeredImageID,
  TRIGGER_MESSAGES,
  type BuildConfig,
  type ImageChangeTriggerStatus,
} from '../../src/api/kinds/build-config.js';
import {
  BUILD_GROUP,
  buildEnvVarSchema,
  sourceRevisionSchema,
  strategyFrom,
  strategyType,
  type BuildEnvVar,
  type BuildStrategy,
  type CommonSpec,
  type SourceRevision,
} from '../../src/api/kinds/build-spec.js';
import {
  imageReferenceSchema,
  parseImageStreamImageName,
  parseImageStreamTagName,
  resolveImageReference,
  type ImageReference,
  type ImageStream,
} from '../../src/api/kinds/image-stream.js';
import { parseWith, validateObject } from '../../src/api/validation.js';
import { isStoreError } from '../store/types.js';
import { checkSourceAllowed } from './build-admission.js';
import { objectKey } from './keys.js';
import type { Projects } from './projects.js';
import { timestamp, type ResourceStore } from './resources.js';
import { toApiError } from './store-errors.js';

/** OpenShift's BuildRequest: what a new build should differ in from its configuration. */
export interface BuildRequest {
  triggeredBy?: BuildTriggerCause[];
  revision?: SourceRevision;
  env?: BuildEnvVar[];
  /** The image that triggered the build (ImageChange triggers). */
  triggeredByImage?: ImageReference;
  /** With triggeredByImage: which trigger's image it is. */
  from?: ImageReference;
  /** Only build if the BuildConfig's lastVersion is still this one. */
  lastVersion?: number;
}

const buildRequestSchema = z.looseObject({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  metadata: z.looseObject({ name: z.string().optional() }).optional(),
  triggeredBy: z
    .array(z.looseObject({ message: z.string().min(1) }))
    .nullable()
    .optional(),
  revision: sourceRevisionSchema.optional(),
  env: z.array(buildEnvVarSchema).nullable().optional(),
  triggeredByImage: imageReferenceSchema.optional(),
  from: imageReferenceSchema.optional(),
  lastVersion: z.number().int().min(0).optional(),
});

/** Checks a BuildRequest body against the object named in the URL. */
export function parseBuildRequest(body: unknown, name: string): BuildRequest {
  if (body === undefined || body === null) return {};
  const parsed = parseWith(buildRequestSchema, body);
  if (!parsed.ok) throw ApiError.invalid('BuildRequest', name, parsed.causes);
  const r = parsed.value;
  if (r.kind !== undefined && r.kind !== 'BuildRequest') {
    throw ApiError.invalid('BuildRequest', name, [
      {
        field: 'kind',
        message: `Invalid value: ${JSON.stringify(r.kind)}: expected "BuildRequest"`,
      },
    ]);
  }
  if (r.metadata?.name !== undefined && r.metadata.name !== name) {
    throw ApiError.invalid('BuildRequest', name, [
      {
        field: 'metadata.name',
        message: `Invalid value: ${JSON.stringify(r.metadata.name)}: must be "${name}", the name in the URL`,
      },
    ]);
  }
  const out: BuildRequest = {};
  if (r.triggeredBy?.length) out.triggeredBy = r.triggeredBy;
  if (r.revision) out.revision = r.revision;
  if (r.env?.length) out.env = r.env;
  if (r.triggeredByImage) out.triggeredByImage = r.triggeredByImage;
  if (r.from) out.from = r.from;
  if (r.lastVersion !== undefined) out.lastVersion = r.lastVersion;
  return out;
}

export interface InstantiateOptions {
  /** A binary build: the source is the uploaded archive (`asFile`: a single file). */
  binary?: { asFile?: string | undefined };
  /** Runs after the build is composed and before it is stored (the upload is put in place);
   * a failure aborts the instantiate. */
  beforeCommit?: (build: Build) => Promise<void>;
  /** Runs when the build composed for beforeCommit was not stored after all. */
  onAbort?: (build: Build) => Promise<void>;
}

/** BuildConfig spec fields that are not copied into builds. */
const CONFIG_ONLY = new Set([
  'triggers',
  'runPolicy',
  'successfulBuildsHistoryLimit',
  'failedBuildsHistoryLimit',
]);
const BUILD_ONLY = new Set(['triggeredBy']);
/** Store transactions lost to concurrent writers; each loss means another write succeeded. */
const INSTANTIATE_RETRIES = 100;

/** A label value of at most 63 characters that starts and ends alphanumeric, as OpenShift
 * shortens BuildConfig names for labels. */
export function labelValueFor(name: string): string {
  return name.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
}

function withEnv(strategy: BuildStrategy, env: BuildEnvVar[] | undefined): BuildStrategy {
  if (!env?.length) return strategy;
  const merge = (existing: BuildEnvVar[] | undefined): BuildEnvVar[] => {
    const names = new Set(env.map((e) => e.name));
    return [...(existing ?? []).filter((e) => !names.has(e.name)), ...env];
  };
  const type = strategyType(strategy);
  if (type === 'Source' && strategy.sourceStrategy) {
    return {
      ...strategy,
      sourceStrategy: { ...strategy.sourceStrategy, env: merge(strategy.sourceStrategy.env) },
    };
  }
  if (type === 'Docker') {
    const docker = strategy.dockerStrategy ?? {};
    return { ...strategy, dockerStrategy: { ...docker, env: merge(docker.env) } };
  }
  return strategy;
}

function withStrategyFrom(strategy: BuildStrategy, from: ImageReference): BuildStrategy {
  const type = strategyType(strategy);
  if (type === 'Source' && strategy.sourceStrategy) {
    return { ...strategy, sourceStrategy: { ...strategy.sourceStrategy, from } };
  }
  if (type === 'Docker' && strategy.dockerStrategy?.from) {
    return { ...strategy, dockerStrategy: { ...strategy.dockerStrategy, from } };
  }
  return strategy;
}

function sameImageReference(a: ImageReference, b: ImageReference, namespace: string): boolean {
  return (
    (a.kind ?? '') === (b.kind ?? '') &&
    a.name === b.name &&
    (a.namespace || namespace) === (b.namespace || namespace)
  );
}

/** The streams a BuildConfig's image references name, namespace/name. */
function referencedStreams(
  bc: BuildConfig,
  namespace: string,
): { namespace: string; name: string }[] {
  const refs: ImageReference[] = [];
  const from = strategyFrom(bc.spec.strategy);
  if (from) refs.push(from);
  for (const trigger of bc.spec.triggers ?? []) {
    const ref = imageChangeTriggerFrom(bc, trigger);
    if (ref) refs.push(ref);
  }
  const out = new Map<string, { namespace: string; name: string }>();
  for (const ref of refs) {
    const stream =
      ref.kind === 'ImageStreamTag'
        ? parseImageStreamTagName(ref.name)?.stream
        : ref.kind === 'ImageStreamImage'
          ? parseImageStreamImageName(ref.name)?.stream
          : undefined;
    if (!stream) continue;
    const ns = ref.namespace || namespace;
    out.set(`${ns}/${stream}`, { namespace: ns, name: stream });
  }
  return [...out.values()];
}

export interface BuildInstantiatorOptions {
  resources: ResourceStore;
  projects: Pick<Projects, 'withNamespaceForCreate'>;
  allowFileGitSources: boolean;
  now?: () => Date;
}

export class BuildInstantiator {
  readonly #resources: ResourceStore;
  readonly #projects: BuildInstantiatorOptions['projects'];
  readonly #allowFile: boolean;
  readonly #now: () => Date;

  constructor(options: BuildInstantiatorOptions) {
    this.#resources = options.resources;
    this.#projects = options.projects;
    this.#allowFile = options.allowFileGitSources;
    this.#now = options.now ?? (() => new Date());
  }

  /** A new build of BuildConfig `name`; see the module comment. */
  async instantiate(
    namespace: string,
    name: string,
    request: BuildRequest,
    options: InstantiateOptions = {},
  ): Promise<Build> {
    return this.#projects.withNamespaceForCreate(namespace, () =>
      this.#create(namespace, name, request, options, undefined),
    );
  }

  /** A new build with the spec of build `name` (`start-build --from-build`), numbered by its
   * BuildConfig. */
  async clone(namespace: string, name: string, request: BuildRequest): Promise<Build> {
    const original = (await this.#resources.get(buildKind, namespace, name)) as Build;
    const config = buildConfigNameOf(original);
    if (!config) {
      throw ApiError.badRequest(`build "${name}" has no build configuration to number a clone by`);
    }
    if (original.spec.source?.binary) {
      throw ApiError.badRequest(
        `build "${name}" was built from uploaded input, which is not kept for new builds: start a new binary build instead`,
      );
    }
    return this.#projects.withNamespaceForCreate(namespace, () =>
      this.#create(namespace, config, request, {}, original),
    );
  }

  async #streams(bc: BuildConfig, namespace: string): Promise<Map<string, ImageStream>> {
    const streams = new Map<string, ImageStream>();
    for (const ref of referencedStreams(bc, namespace)) {
      try {
        const is = (await this.#resources.get(
          imageStreamKind,
          ref.namespace,
          ref.name,
        )) as ImageStream;
        streams.set(`${ref.namespace}/${ref.name}`, is);
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    }
    return streams;
  }

  async #create(
    namespace: string,
    name: string,
    request: BuildRequest,
    options: InstantiateOptions,
    cloneOf: Build | undefined,
  ): Promise<Build> {
    const store = this.#resources.store;
    const bcKey = objectKey(buildConfigKind, namespace, name);
    let floor = 0;
    for (let attempt = 0; ; attempt += 1) {
      const kv = await store.get(bcKey);
      if (!kv) throw this.#resources.notFound(buildConfigKind, name);
      const bc = this.#resources.decode(kv) as BuildConfig;
      const lastVersion = bc.status?.lastVersion ?? 0;
      if (request.lastVersion !== undefined && request.lastVersion !== lastVersion) {
        throw ApiError.conflict(
          'buildconfigs.build.openshift.io',
          name,
          `the lastVersion (${request.lastVersion}) of the build request does not match the build configuration's lastVersion (${lastVersion})`,
        );
      }
      const streams = await this.#streams(bc, namespace);
      const lookup = (ns: string, stream: string): ImageStream | undefined =>
        streams.get(`${ns}/${stream}`);
      const now = timestamp(this.#now());
      const number = Math.max(lastVersion, floor) + 1;
      const nextConfig = this.#recordTrigger(bc, request, namespace, lookup, now);
      nextConfig.status = { ...nextConfig.status, lastVersion: number };
      const build = this.#compose(bc, number, request, options, cloneOf, now);
      checkSourceAllowed('Build', build, { allowFileGitSources: this.#allowFile });
      const validated = validateObject(buildKind, build) as Build;
      const validConfig = validateObject(buildConfigKind, nextConfig) as BuildConfig;
      const buildKey = objectKey(buildKind, namespace, validated.metadata.name!);
      await options.beforeCommit?.(validated);
      try {
        const revision = await store.txn([
          {
            op: 'update',
            key: bcKey,
            value: this.#resources.encode(validConfig),
            expectedModRevision: kv.modRevision,
          },
          { op: 'create', key: buildKey, value: this.#resources.encode(validated) },
        ]);
        const value = this.#resources.encode(validated);
        return this.#resources.decode({
          key: buildKey,
          value,
          createRevision: revision,
          modRevision: revision,
        }) as Build;
      } catch (err) {
        await options.onAbort?.(validated);
        const retry = attempt < INSTANTIATE_RETRIES && isStoreError(err);
        if (retry && err.code === 'Conflict') continue;
        if (retry && err.code === 'KeyExists' && err.key === buildKey) {
          // A build of that name is left from an earlier BuildConfig of the same name.
          floor = number;
          continue;
        }
        throw toApiError(err, {
          resource: 'builds.build.openshift.io',
          name: validated.metadata.name ?? '',
        });
      }
    }
  }

  /**
   * The BuildConfig with the image of each ImageChange trigger recorded: the triggering image
   * for an image-triggered build (refused when that image already triggered a build), the
   * strategy image as it resolves now for any other build, so the trigger does not fire again
   * for an image the build already uses (`status.imageChangeTriggers`, mirrored into the
   * trigger's `lastTriggeredImageID`).
   */
  #recordTrigger(
    bc: BuildConfig,
    request: BuildRequest,
    namespace: string,
    lookup: (ns: string, name: string) => ImageStream | undefined,
    now: string,
  ): BuildConfig {
    const next = structuredClone(bc);
    const statuses: ImageChangeTriggerStatus[] = [...(next.status?.imageChangeTriggers ?? [])];
    const strategyImage = strategyFrom(bc.spec.strategy);
    let matched = false;
    next.spec.triggers = (next.spec.triggers ?? []).map((trigger) => {
      const from = imageChangeTriggerFrom(bc, trigger);
      if (!from) return trigger;
      let image: string | undefined;
      if (request.triggeredByImage) {
        const mine = request.from
          ? sameImageReference(request.from, from, namespace)
          : strategyImage !== undefined && sameImageReference(from, strategyImage, namespace);
        if (!mine) return trigger;
        matched = true;
        image = request.triggeredByImage.name;
        if (lastTriggeredImageID(bc, trigger) === image) {
          throw ApiError.conflict(
            'buildconfigs.build.openshift.io',
            bc.metadata.name ?? '',
            `a build was already triggered by image ${image}`,
          );
        }
      } else {
        // Another build: the strategy image's trigger records the image the build will use
        // (OpenShift); a trigger on another image records it only the first time, so a new
        // configuration's first build is not followed at once by an image-triggered one.
        if (trigger.imageChange?.from && lastTriggeredImageID(bc, trigger)) return trigger;
        const resolved = resolveImageReference(from, namespace, lookup);
        if (!resolved.ok) return trigger;
        image = resolved.dockerImageReference;
      }
      const key = imageTriggerKey(from, namespace);
      const entry: ImageChangeTriggerStatus = {
        from: { namespace: from.namespace || namespace, name: from.name },
        lastTriggeredImageID: image,
        lastTriggerTime: now,
      };
      const index = statuses.findIndex(
        (s) => s.from && imageTriggerKey({ ...s.from }, namespace) === key,
      );
      if (index === -1) statuses.push(entry);
      else statuses[index] = entry;
      return { ...trigger, imageChange: { ...trigger.imageChange, lastTriggeredImageID: image } };
    });
    if (request.triggeredByImage && !matched) {
      throw ApiError.badRequest(
        `build configuration "${bc.metadata.name ?? ''}" has no ImageChange trigger for ${request.from?.name ?? 'its strategy image'}`,
      );
    }
    if (statuses.length > 0) next.status = { ...next.status, imageChangeTriggers: statuses };
    return next;
  }

  #compose(
    bc: BuildConfig,
    number: number,
    request: BuildRequest,
    options: InstantiateOptions,
    cloneOf: Build | undefined,
    now: string,
  ): Build {
    const namespace = bc.metadata.namespace ?? '';
    const bcName = bc.metadata.name ?? '';
    const base = (cloneOf?.spec ?? bc.spec) as unknown as Record<string, unknown>;
    const skip = cloneOf ? BUILD_ONLY : CONFIG_ONLY;
    const spec = Object.fromEntries(
      Object.entries(structuredClone(base)).filter(([k]) => !skip.has(k)),
    ) as unknown as CommonSpec & { triggeredBy?: BuildTriggerCause[] };
    spec.triggeredBy = request.triggeredBy ?? [{ message: TRIGGER_MESSAGES.manual }];
    if (request.revision) spec.revision = request.revision;
    let strategy = withEnv(spec.strategy, request.env);
    if (request.triggeredByImage) {
      const current = strategyFrom(strategy);
      if (current && (!request.from || sameImageReference(request.from, current, namespace))) {
        strategy = withStrategyFrom(strategy, {
          kind: 'DockerImage',
          name: request.triggeredByImage.name,
        });
      }
    }
    spec.strategy = strategy;
    if (options.binary) {
      const { git: _git, type: _type, ...rest } = spec.source ?? {};
      spec.source = {
        ...rest,
        type: 'Binary',
        binary: options.binary.asFile ? { asFile: options.binary.asFile } : {},
      };
    } else if (spec.source?.binary && !cloneOf) {
      throw ApiError.badRequest(
        `build configuration "${bcName}" takes binary input: start it with an upload (start-build --from-dir, --from-file or --from-archive)`,
      );
    }
    const buildName = `${bcName}-${number}`;
    const label = labelValueFor(bcName);
    const runPolicy = bc.spec.runPolicy ?? 'Serial';
    return {
      apiVersion: `${BUILD_GROUP}/v1`,
      kind: 'Build',
      metadata: {
        name: buildName,
        namespace,
        uid: randomUUID(),
        generation: 1,
        creationTimestamp: now,
        labels: {
          ...bc.metadata.labels,
          [BUILD_CONFIG_LABEL]: label,
          [BUILD_CONFIG_NAME_LABEL]: label,
          [BUILD_RUN_POLICY_LABEL]: runPolicy,
        },
        annotations: {
          [BUILD_CONFIG_ANNOTATION]: bcName,
          [BUILD_NUMBER_ANNOTATION]: String(number),
          [BUILD_POD_NAME_ANNOTATION]: buildPodName(buildName),
        },
        ownerReferences: [
          {
            apiVersion: `${BUILD_GROUP}/v1`,
            kind: 'BuildConfig',
            name: bcName,
            uid: bc.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec,
      status: {
        phase: 'New',
        config: { kind: 'BuildConfig', namespace, name: bcName },
      },
    };
  }
}

/** A ref given in a webhook payload, checked as a git ref. */
export function checkPayloadRef(ref: string, field: string): void {
  const causes = checkGitRef(ref, field);
  if (causes.length > 0) {
    throw ApiError.badRequest(`invalid ${field} in the payload: ${causes[0]!.message}`, causes);
  }
}
