import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import {
  BUILD_GROUP,
  commonSpecShape,
  describeSourceShort,
  strategyFrom,
  strategyType,
  validateCommonSpec,
  type CommonSpec,
} from './build-spec.js';
import {
  imageReferenceSchema,
  validateImageReference,
  type ImageReference,
} from './image-stream.js';

export const BUILD_TRIGGER_TYPES = [
  'GitHub',
  'Generic',
  'GitLab',
  'Bitbucket',
  'ImageChange',
  'ConfigChange',
] as const;
export type BuildTriggerType = (typeof BUILD_TRIGGER_TYPES)[number];

export const RUN_POLICIES = ['Serial', 'Parallel', 'SerialLatestOnly'] as const;
export type RunPolicy = (typeof RUN_POLICIES)[number];

/** The key of a Secret that holds a webhook secret (`secretReference`), as OpenShift 4. */
export const WEBHOOK_SECRET_KEY = 'WebHookSecretKey';

/** History kept per BuildConfig when the limits are not set (build.openshift.io/v1). */
export const DEFAULT_SUCCESSFUL_BUILDS_HISTORY = 5;
export const DEFAULT_FAILED_BUILDS_HISTORY = 5;

/** `triggeredBy` messages, in OpenShift's words. */
export const TRIGGER_MESSAGES = {
  configChange: 'Build configuration change',
  imageChange: 'Image change',
  github: 'GitHub WebHook',
  generic: 'Generic WebHook',
  manual: 'Manually triggered',
} as const;

export interface WebHookTrigger {
  secret?: string;
  secretReference?: { name: string };
  allowEnv?: boolean;
}

export interface ImageChangeTrigger {
  lastTriggeredImageID?: string;
  from?: ImageReference;
  paused?: boolean;
}

export interface BuildTriggerPolicy {
  type: BuildTriggerType;
  github?: WebHookTrigger;
  generic?: WebHookTrigger;
  gitlab?: WebHookTrigger;
  bitbucket?: WebHookTrigger;
  imageChange?: ImageChangeTrigger;
}

export interface BuildConfigSpec extends CommonSpec {
  triggers?: BuildTriggerPolicy[] | null;
  runPolicy?: RunPolicy;
  successfulBuildsHistoryLimit?: number;
  failedBuildsHistoryLimit?: number;
}

export interface ImageChangeTriggerStatus {
  lastTriggeredImageID?: string;
  from?: { namespace?: string; name: string };
  lastTriggerTime?: string;
}

export interface BuildConfigStatus {
  lastVersion?: number;
  imageChangeTriggers?: ImageChangeTriggerStatus[];
}

export interface BuildConfig extends ApiObject {
  metadata: ObjectMeta;
  spec: BuildConfigSpec;
  status?: BuildConfigStatus;
}

const webHook = z.looseObject({
  secret: z.string().optional(),
  secretReference: z.looseObject({ name: z.string().min(1) }).optional(),
  allowEnv: z.boolean().optional(),
});

const schema = z.looseObject({
  spec: z.looseObject({
    ...commonSpecShape,
    triggers: z
      .array(
        z.looseObject({
          type: z.enum(BUILD_TRIGGER_TYPES),
          github: webHook.optional(),
          generic: webHook.optional(),
          gitlab: webHook.optional(),
          bitbucket: webHook.optional(),
          imageChange: z
            .looseObject({
              lastTriggeredImageID: z.string().optional(),
              from: imageReferenceSchema.optional(),
              paused: z.boolean().optional(),
            })
            .nullable()
            .optional(),
        }),
      )
      .nullable()
      .optional(),
    runPolicy: z.enum(RUN_POLICIES).optional(),
    successfulBuildsHistoryLimit: z.number().int().min(0).optional(),
    failedBuildsHistoryLimit: z.number().int().min(0).optional(),
  }),
  status: z
    .looseObject({
      lastVersion: z.number().int().min(0).optional(),
      imageChangeTriggers: z.array(z.looseObject({})).optional(),
    })
    .optional(),
});

const WEBHOOK_FIELDS = {
  GitHub: 'github',
  Generic: 'generic',
  GitLab: 'gitlab',
  Bitbucket: 'bitbucket',
} as const;

/** The image an ImageChange trigger watches: its own `from`, else the strategy's `from` when
 * that is an ImageStreamTag. */
export function imageChangeTriggerFrom(
  bc: Pick<BuildConfig, 'spec'>,
  trigger: BuildTriggerPolicy,
): ImageReference | undefined {
  if (trigger.type !== 'ImageChange') return undefined;
  if (trigger.imageChange?.from) return trigger.imageChange.from;
  const from = strategyFrom(bc.spec.strategy);
  return from?.kind === 'ImageStreamTag' ? from : undefined;
}

/** Identifies the image an ImageChange trigger watches: `namespace/stream:tag`. */
export function imageTriggerKey(ref: ImageReference, namespace: string): string {
  return `${ref.namespace || namespace}/${ref.name}`;
}

/** The image that last triggered a build through this trigger: `status.imageChangeTriggers`
 * first (OpenShift 4), then the trigger's own `lastTriggeredImageID` (OpenShift 3). */
export function lastTriggeredImageID(
  bc: BuildConfig,
  trigger: BuildTriggerPolicy,
): string | undefined {
  const from = imageChangeTriggerFrom(bc, trigger);
  if (!from) return undefined;
  const namespace = bc.metadata.namespace ?? '';
  const key = imageTriggerKey(from, namespace);
  const status = bc.status?.imageChangeTriggers?.find(
    (s) => s.from && imageTriggerKey({ kind: 'ImageStreamTag', ...s.from }, namespace) === key,
  );
  return status?.lastTriggeredImageID || trigger.imageChange?.lastTriggeredImageID || undefined;
}

export function hasTrigger(bc: Pick<BuildConfig, 'spec'>, type: BuildTriggerType): boolean {
  return (bc.spec.triggers ?? []).some((t) => t.type === type);
}

function validateTriggers(bc: BuildConfig): StatusCause[] {
  const causes: StatusCause[] = [];
  let configChange = 0;
  let strategyImageTriggers = 0;
  (bc.spec.triggers ?? []).forEach((trigger, i) => {
    const field = `spec.triggers[${i}]`;
    if (trigger.type in WEBHOOK_FIELDS) {
      const key = WEBHOOK_FIELDS[trigger.type as keyof typeof WEBHOOK_FIELDS];
      const hook = trigger[key];
      if (!hook) {
        causes.push({
          field: `${field}.${key}`,
          message: 'Required value',
          reason: 'FieldValueRequired',
        });
      } else if (!hook.secret && !hook.secretReference) {
        causes.push({
          field: `${field}.${key}.secret`,
          message: 'Required value: a secret or a secretReference is required',
          reason: 'FieldValueRequired',
        });
      } else if (hook.secret && hook.secretReference) {
        causes.push({
          field: `${field}.${key}.secretReference`,
          message: 'Forbidden: give either secret or secretReference, not both',
          reason: 'FieldValueForbidden',
        });
      }
    } else if (trigger.type === 'ConfigChange') {
      configChange += 1;
      if (configChange > 1) {
        causes.push({
          field: `${field}.type`,
          message: 'Duplicate value: "ConfigChange"',
          reason: 'FieldValueDuplicate',
        });
      }
    } else if (trigger.type === 'ImageChange') {
      const from = trigger.imageChange?.from;
      if (from) {
        causes.push(
          ...validateImageReference(from, `${field}.imageChange.from`, ['ImageStreamTag']),
        );
      } else {
        strategyImageTriggers += 1;
        if (strategyFrom(bc.spec.strategy)?.kind !== 'ImageStreamTag') {
          causes.push({
            field: `${field}.imageChange.from`,
            message:
              'Required value: an ImageChange trigger without from needs the strategy to build from an ImageStreamTag',
            reason: 'FieldValueRequired',
          });
        } else if (strategyImageTriggers > 1) {
          causes.push({
            field: `${field}.imageChange`,
            message: 'Duplicate value: only one ImageChange trigger may watch the strategy image',
            reason: 'FieldValueDuplicate',
          });
        }
      }
    }
  });
  return causes;
}

function validateBuildConfig(bc: BuildConfig): StatusCause[] {
  return [...validateCommonSpec(bc.spec), ...validateTriggers(bc)];
}

/**
 * BuildConfig: how to build an image and when. `status.lastVersion` and the image triggers'
 * last images are written by the server when it creates a build (instantiate).
 */
export const buildConfigKind = defineKind<BuildConfig>({
  kind: 'BuildConfig',
  group: BUILD_GROUP,
  version: 'v1',
  plural: 'buildconfigs',
  shortNames: ['bc'],
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  validate: validateBuildConfig,
  statusSubresource: true,
  columns: [
    { header: 'TYPE', value: (bc) => strategyType(bc.spec?.strategy) ?? '' },
    { header: 'FROM', value: (bc) => describeSourceShort(bc.spec) },
    { header: 'LATEST', value: (bc) => String(bc.status?.lastVersion ?? 0) },
  ],
});
