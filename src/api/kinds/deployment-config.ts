/**
 * OpenShift's DeploymentConfig (apps.openshift.io/v1, also bare `v1`): a pod template rolled
 * out as numbered ReplicationControllers `NAME-N` on config and image changes, with Rolling or
 * Recreate strategies and lifecycle hooks. Defaults and validation follow OpenShift's.
 */
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { matchesLabels } from '../selectors.js';
import { validateLabels } from '../validation.js';
import { defineKind } from '../registry.js';
import { containerSchema, podSpecSchema } from './pod.js';
import {
  selectorFromMap,
  validatePodTemplate,
  type PodTemplateSpec,
  type WorkloadCondition,
} from './pod-template.js';
import {
  intOrPercentSchema,
  isZero,
  resolveFenceposts,
  validateFenceposts,
  type Fenceposts,
  type IntOrPercent,
} from './int-or-percent.js';
import { parseImageStreamTagName, tagNameProblems } from './image-stream.js';

export const APPS_GROUP = 'apps.openshift.io';

/** Labels and annotations OpenShift puts on a DeploymentConfig's ReplicationControllers and
 * pods (openshift/api apps/v1). */
export const DC_ANNOTATIONS = {
  /** On the RC and its pods: the DeploymentConfig's name (also a label of the RC). */
  configName: 'openshift.io/deployment-config.name',
  /** On the RC and its pods: the version (N of `NAME-N`). */
  latestVersion: 'openshift.io/deployment-config.latest-version',
  /** On the pods: the RC's name. */
  deploymentName: 'openshift.io/deployment.name',
  /** On the RC: New, Pending, Running, Complete, Failed. */
  phase: 'openshift.io/deployment.phase',
  /** On the RC: the replica count the rollout reached (0 until it completes). */
  replicas: 'openshift.io/deployment.replicas',
  /** On the RC: the replica count the rollout aims at, removed when it completes. */
  desiredReplicas: 'kubectl.kubernetes.io/desired-replicas',
  /** On the RC: the DeploymentConfig as JSON when the RC was made (for history and undo). */
  encodedConfig: 'openshift.io/encoded-deployment-config',
  /** On the RC: why it was made (`config change`), or why it failed or was cancelled. */
  statusReason: 'openshift.io/deployment.status-reason',
  /** On the RC: `true` once someone asked to cancel the rollout. */
  cancelled: 'openshift.io/deployment.cancelled',
} as const;

export const DC_LABELS = {
  /** On the pods and in the RC selector: the DeploymentConfig's name. */
  config: 'deploymentconfig',
  /** On the pods and in the RC selector: the RC's name. */
  deployment: 'deployment',
  /** On hook pods: the RC they run for. */
  deployerPodFor: 'openshift.io/deployer-pod-for.name',
  /** On hook pods: `hook-pre`, `hook-mid` or `hook-post`. */
  deployerPodType: 'openshift.io/deployer-pod.type',
} as const;

/** `openshift.io/deployment.status-reason` values, in OpenShift's words. */
export const DC_REASONS = {
  cancelledByUser: 'cancelled by the user',
  cancelledByNewer: 'newer deployment was found running',
  configChange: 'config change',
  imageChange: 'image change',
  manualChange: 'manual change',
} as const;

export const DEPLOYMENT_PHASES = ['New', 'Pending', 'Running', 'Complete', 'Failed'] as const;
export type DeploymentPhase = (typeof DEPLOYMENT_PHASES)[number];

export const DC_DEFAULTS = {
  revisionHistoryLimit: 10,
  updatePeriodSeconds: 1,
  intervalSeconds: 1,
  timeoutSeconds: 600,
  maxSurge: '25%',
  maxUnavailable: '25%',
  activeDeadlineSeconds: 21600,
} as const;

export const HOOK_FAILURE_POLICIES = ['Abort', 'Retry', 'Ignore'] as const;
export type HookFailurePolicy = (typeof HOOK_FAILURE_POLICIES)[number];

export interface ExecNewPodHook {
  command: string[];
  env?: { name: string; value?: string; [k: string]: unknown }[];
  containerName: string;
  volumes?: string[];
}

export interface LifecycleHook {
  failurePolicy: HookFailurePolicy;
  execNewPod?: ExecNewPodHook;
  tagImages?: unknown[];
}

export interface RollingParams {
  updatePeriodSeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  pre?: LifecycleHook;
  post?: LifecycleHook;
}

export interface RecreateParams {
  timeoutSeconds?: number;
  pre?: LifecycleHook;
  mid?: LifecycleHook;
  post?: LifecycleHook;
}

export interface DeploymentStrategy {
  type?: 'Rolling' | 'Recreate' | 'Custom';
  rollingParams?: RollingParams;
  recreateParams?: RecreateParams;
  resources?: Record<string, unknown>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  activeDeadlineSeconds?: number;
}

export interface ImageChangeParams {
  automatic?: boolean;
  containerNames?: string[];
  from: { kind?: string; name: string; namespace?: string };
  lastTriggeredImage?: string;
}

export interface DeploymentTriggerPolicy {
  type: 'ConfigChange' | 'ImageChange';
  imageChangeParams?: ImageChangeParams;
}

export interface DeploymentConfigSpec {
  replicas?: number;
  selector?: Record<string, string>;
  template?: PodTemplateSpec;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  test?: boolean;
  strategy?: DeploymentStrategy;
  triggers?: DeploymentTriggerPolicy[] | null;
}

export interface DeploymentCause {
  type: 'ConfigChange' | 'ImageChange' | 'Manual';
  imageTrigger?: { from: { kind?: string; name: string; namespace?: string } };
}

export interface DeploymentConfigStatus {
  latestVersion?: number;
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  readyReplicas?: number;
  details?: { message?: string; causes?: DeploymentCause[] };
  conditions?: WorkloadCondition[];
}

export interface DeploymentConfig extends ApiObject {
  metadata: ObjectMeta;
  spec: DeploymentConfigSpec;
  status?: DeploymentConfigStatus;
}

/** A container whose image an ImageChange trigger fills may leave it empty (or " "). */
const relaxedContainer = containerSchema.extend({ image: z.string().optional() });
const relaxedPodSpec = podSpecSchema.extend({
  containers: z.array(relaxedContainer).min(1),
  initContainers: z.array(relaxedContainer).optional(),
});
const relaxedTemplate = z.looseObject({
  metadata: z
    .looseObject({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  spec: relaxedPodSpec,
});

const envVarSchema = z.looseObject({ name: z.string().min(1), value: z.string().optional() });

const hookSchema = z.looseObject({
  failurePolicy: z.string().optional(),
  execNewPod: z
    .looseObject({
      command: z.array(z.string()).optional(),
      env: z.array(envVarSchema).optional(),
      containerName: z.string().optional(),
      volumes: z.array(z.string()).optional(),
    })
    .optional(),
  tagImages: z.array(z.unknown()).optional(),
});

const positive = z.number().int().min(1);

const schema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().int().min(0).optional(),
    selector: z.record(z.string(), z.string()).nullable().optional(),
    template: relaxedTemplate.optional(),
    minReadySeconds: z.number().int().min(0).optional(),
    revisionHistoryLimit: z.number().int().min(0).optional(),
    paused: z.boolean().optional(),
    test: z.boolean().optional(),
    strategy: z
      .looseObject({
        type: z.enum(['Rolling', 'Recreate', 'Custom']).optional(),
        rollingParams: z
          .looseObject({
            updatePeriodSeconds: positive.optional(),
            intervalSeconds: positive.optional(),
            timeoutSeconds: positive.optional(),
            maxSurge: intOrPercentSchema.optional(),
            maxUnavailable: intOrPercentSchema.optional(),
            pre: hookSchema.optional(),
            post: hookSchema.optional(),
          })
          .optional(),
        recreateParams: z
          .looseObject({
            timeoutSeconds: positive.optional(),
            pre: hookSchema.optional(),
            mid: hookSchema.optional(),
            post: hookSchema.optional(),
          })
          .optional(),
        resources: z.looseObject({}).optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        activeDeadlineSeconds: positive.optional(),
      })
      .optional(),
    triggers: z
      .array(
        z.looseObject({
          type: z.enum(['ConfigChange', 'ImageChange']),
          imageChangeParams: z
            .looseObject({
              automatic: z.boolean().optional(),
              containerNames: z.array(z.string()).optional(),
              from: z.looseObject({
                kind: z.string().optional(),
                name: z.string().min(1),
                namespace: z.string().optional(),
              }),
              lastTriggeredImage: z.string().optional(),
            })
            .optional(),
        }),
      )
      .nullable()
      .optional(),
  }),
  status: z
    .looseObject({
      latestVersion: z.number().int().min(0).optional(),
      observedGeneration: z.number().int().optional(),
      replicas: z.number().int().min(0).optional(),
      updatedReplicas: z.number().int().min(0).optional(),
      availableReplicas: z.number().int().min(0).optional(),
      unavailableReplicas: z.number().int().min(0).optional(),
      readyReplicas: z.number().int().min(0).optional(),
    })
    .optional(),
});

/** The ImageChange triggers of a configuration. */
export function imageChangeTriggers(dc: Pick<DeploymentConfig, 'spec'>): DeploymentTriggerPolicy[] {
  return (dc.spec.triggers ?? []).filter((t) => t.type === 'ImageChange' && t.imageChangeParams);
}

export function hasConfigChangeTrigger(dc: Pick<DeploymentConfig, 'spec'>): boolean {
  return (dc.spec.triggers ?? []).some((t) => t.type === 'ConfigChange');
}

/** Names of the containers some ImageChange trigger fills. */
function triggeredContainers(dc: DeploymentConfig): Set<string> {
  return new Set(imageChangeTriggers(dc).flatMap((t) => t.imageChangeParams?.containerNames ?? []));
}

function validateHook(
  hook: LifecycleHook | undefined,
  field: string,
  containers: ReadonlySet<string>,
): StatusCause[] {
  if (!hook) return [];
  const causes: StatusCause[] = [];
  const policy = hook.failurePolicy as string | undefined;
  if (!policy) {
    causes.push({
      field: `${field}.failurePolicy`,
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  } else if (!(HOOK_FAILURE_POLICIES as readonly string[]).includes(policy)) {
    causes.push({
      field: `${field}.failurePolicy`,
      message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Abort", "Retry", "Ignore"`,
      reason: 'FieldValueNotSupported',
    });
  }
  if (hook.tagImages !== undefined) {
    causes.push({
      field: `${field}.tagImages`,
      message: 'Forbidden: tagImages hooks are not supported; use execNewPod',
      reason: 'FieldValueForbidden',
    });
  }
  const exec = hook.execNewPod;
  if (!exec) {
    if (hook.tagImages === undefined) {
      causes.push({
        field: `${field}.execNewPod`,
        message: 'Required value: a hook must have execNewPod',
        reason: 'FieldValueRequired',
      });
    }
    return causes;
  }
  if ((exec.command ?? []).length === 0) {
    causes.push({
      field: `${field}.execNewPod.command`,
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  }
  if (!exec.containerName) {
    // A template with one container defaults it.
    if (containers.size === 1) return causes;
    causes.push({
      field: `${field}.execNewPod.containerName`,
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  } else if (!containers.has(exec.containerName)) {
    causes.push({
      field: `${field}.execNewPod.containerName`,
      message: `Invalid value: ${JSON.stringify(exec.containerName)}: must match a container in the pod template`,
      reason: 'FieldValueInvalid',
    });
  }
  return causes;
}

function validateStrategy(dc: DeploymentConfig, containers: ReadonlySet<string>): StatusCause[] {
  const strategy = dc.spec.strategy ?? {};
  const causes: StatusCause[] = [];
  if (strategy.type === 'Custom') {
    causes.push({
      field: 'spec.strategy.type',
      message: 'Unsupported value: "Custom": supported values: "Rolling", "Recreate"',
      reason: 'FieldValueNotSupported',
    });
  }
  const rolling = strategy.rollingParams;
  if (rolling) {
    const base = 'spec.strategy.rollingParams';
    causes.push(
      ...validateFenceposts(rolling, base),
      ...validateHook(rolling.pre, `${base}.pre`, containers),
      ...validateHook(rolling.post, `${base}.post`, containers),
    );
  }
  const recreate = strategy.recreateParams;
  if (recreate) {
    const base = 'spec.strategy.recreateParams';
    causes.push(
      ...validateHook(recreate.pre, `${base}.pre`, containers),
      ...validateHook(recreate.mid, `${base}.mid`, containers),
      ...validateHook(recreate.post, `${base}.post`, containers),
    );
  }
  return causes;
}

function validateTriggers(dc: DeploymentConfig, containers: ReadonlySet<string>): StatusCause[] {
  const causes: StatusCause[] = [];
  let configChanges = 0;
  (dc.spec.triggers ?? []).forEach((trigger, i) => {
    const field = `spec.triggers[${i}]`;
    if (trigger.type === 'ConfigChange') {
      configChanges += 1;
      if (configChanges > 1) {
        causes.push({
          field: `${field}.type`,
          message: 'Duplicate value: "ConfigChange"',
          reason: 'FieldValueDuplicate',
        });
      }
      return;
    }
    const params = trigger.imageChangeParams;
    if (!params) {
      causes.push({
        field: `${field}.imageChangeParams`,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
      return;
    }
    const kind = params.from.kind ?? 'ImageStreamTag';
    if (kind !== 'ImageStreamTag') {
      causes.push({
        field: `${field}.imageChangeParams.from.kind`,
        message: `Unsupported value: ${JSON.stringify(kind)}: supported values: "ImageStreamTag"`,
        reason: 'FieldValueNotSupported',
      });
    } else {
      const parsed = parseImageStreamTagName(params.from.name);
      const why = !parsed ? 'must be of the form <stream>:<tag>' : tagNameProblems(parsed.tag)[0];
      if (why) {
        causes.push({
          field: `${field}.imageChangeParams.from.name`,
          message: `Invalid value: ${JSON.stringify(params.from.name)}: ${why}`,
          reason: 'FieldValueInvalid',
        });
      }
    }
    const names = params.containerNames ?? [];
    if (names.length === 0) {
      causes.push({
        field: `${field}.imageChangeParams.containerNames`,
        message: 'Required value: at least one container name is required',
        reason: 'FieldValueRequired',
      });
    }
    names.forEach((name, j) => {
      if (!containers.has(name)) {
        causes.push({
          field: `${field}.imageChangeParams.containerNames[${j}]`,
          message: `Invalid value: ${JSON.stringify(name)}: does not match a container in the pod template`,
          reason: 'FieldValueInvalid',
        });
      }
    });
  });
  return causes;
}

/** Runs before the defaults: a missing selector means the template's labels. */
function validate(dc: DeploymentConfig): StatusCause[] {
  const explicit = dc.spec.selector ?? {};
  const selector =
    Object.keys(explicit).length > 0 ? explicit : (dc.spec.template?.metadata?.labels ?? {});
  const causes = validateLabels(selector, 'spec.selector');
  if (Object.keys(selector).length === 0) {
    causes.push({
      field: 'spec.selector',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  }
  const template = dc.spec.template;
  if (!template) {
    causes.push({
      field: 'spec.template',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
    return causes;
  }
  const sel = selectorFromMap(selector);
  causes.push(...validatePodTemplate(template, 'spec.template', (l) => matchesLabels(sel, l)));
  const filled = triggeredContainers(dc);
  for (const group of ['initContainers', 'containers'] as const) {
    (template.spec[group] ?? []).forEach((c, i) => {
      if ((c.image ?? '').trim() === '' && !filled.has(c.name)) {
        causes.push({
          field: `spec.template.spec.${group}[${i}].image`,
          message: 'Required value: an image is required unless an ImageChange trigger fills it',
          reason: 'FieldValueRequired',
        });
      }
    });
  }
  const containers = new Set([
    ...template.spec.containers.map((c) => c.name),
    ...(template.spec.initContainers ?? []).map((c) => c.name),
  ]);
  causes.push(...validateStrategy(dc, containers), ...validateTriggers(dc, containers));
  return causes;
}

function defaultHookContainer(hook: LifecycleHook | undefined, container: string | undefined) {
  if (!hook?.execNewPod || hook.execNewPod.containerName || !container) return hook;
  return { ...hook, execNewPod: { ...hook.execNewPod, containerName: container } };
}

function withoutUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** OpenShift's rolling defaults: both fenceposts 25% when neither is set; when one is set to
 * 0, the other 25%; otherwise an unset one means 0. */
function rollingDefaults(
  p: RollingParams | undefined,
  container: string | undefined,
): RollingParams {
  const params: RollingParams = { ...p };
  params.updatePeriodSeconds ??= DC_DEFAULTS.updatePeriodSeconds;
  params.intervalSeconds ??= DC_DEFAULTS.intervalSeconds;
  params.timeoutSeconds ??= DC_DEFAULTS.timeoutSeconds;
  if (params.maxSurge === undefined && params.maxUnavailable === undefined) {
    params.maxSurge = DC_DEFAULTS.maxSurge;
    params.maxUnavailable = DC_DEFAULTS.maxUnavailable;
  } else if (params.maxUnavailable === undefined) {
    params.maxUnavailable = isZero(params.maxSurge) ? DC_DEFAULTS.maxUnavailable : 0;
  } else if (params.maxSurge === undefined) {
    params.maxSurge = isZero(params.maxUnavailable) ? DC_DEFAULTS.maxSurge : 0;
  }
  return withoutUndefined({
    ...params,
    pre: defaultHookContainer(params.pre, container),
    post: defaultHookContainer(params.post, container),
  });
}

/** OpenShift's defaults (SetDefaults_DeploymentConfigSpec and friends). Note: replicas
 * default to 0, as in OpenShift. */
function normalize(dc: DeploymentConfig): DeploymentConfig {
  const spec: DeploymentConfigSpec = { ...dc.spec };
  spec.replicas ??= 0;
  spec.revisionHistoryLimit ??= DC_DEFAULTS.revisionHistoryLimit;
  if (spec.triggers === undefined || spec.triggers === null)
    spec.triggers = [{ type: 'ConfigChange' }];
  spec.triggers = spec.triggers.map((t) =>
    t.imageChangeParams
      ? {
          ...t,
          imageChangeParams: {
            ...t.imageChangeParams,
            automatic: t.imageChangeParams.automatic ?? false,
            from: {
              ...t.imageChangeParams.from,
              kind: t.imageChangeParams.from.kind ?? 'ImageStreamTag',
            },
          },
        }
      : t,
  );
  const templateLabels = spec.template?.metadata?.labels;
  if ((!spec.selector || Object.keys(spec.selector).length === 0) && templateLabels) {
    spec.selector = { ...templateLabels };
  }
  if (spec.selector === null) delete spec.selector;
  const containers = spec.template?.spec.containers ?? [];
  const only = containers.length === 1 ? containers[0]!.name : undefined;
  const strategy: DeploymentStrategy = { ...spec.strategy };
  strategy.type ??= 'Rolling';
  if (strategy.type === 'Rolling') {
    strategy.rollingParams = rollingDefaults(strategy.rollingParams, only);
  }
  if (strategy.type === 'Recreate') {
    const p: RecreateParams = { ...strategy.recreateParams };
    p.timeoutSeconds ??= DC_DEFAULTS.timeoutSeconds;
    strategy.recreateParams = withoutUndefined({
      ...p,
      pre: defaultHookContainer(p.pre, only),
      mid: defaultHookContainer(p.mid, only),
      post: defaultHookContainer(p.post, only),
    });
  }
  strategy.activeDeadlineSeconds ??= DC_DEFAULTS.activeDeadlineSeconds;
  spec.strategy = strategy;
  return { ...dc, spec };
}

/** `ns/NAME-N`, the name of a configuration's N-th ReplicationController. */
export function deploymentNameFor(dcName: string, version: number): string {
  return `${dcName}-${version}`;
}

type Annotated = Pick<ApiObject, 'metadata'>;

/** The version an RC of a DeploymentConfig is for (-1 when it does not say). */
export function deploymentVersionOf(rc: Annotated): number {
  const v = rc.metadata.annotations?.[DC_ANNOTATIONS.latestVersion];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : -1;
}

export function deploymentPhaseOf(rc: Annotated): DeploymentPhase {
  const p = rc.metadata.annotations?.[DC_ANNOTATIONS.phase];
  return (DEPLOYMENT_PHASES as readonly string[]).includes(p ?? '')
    ? (p as DeploymentPhase)
    : 'New';
}

export function isTerminatedPhase(phase: DeploymentPhase): boolean {
  return phase === 'Complete' || phase === 'Failed';
}

export function isCancelled(rc: Annotated): boolean {
  return rc.metadata.annotations?.[DC_ANNOTATIONS.cancelled]?.toLowerCase() === 'true';
}

/** The DeploymentConfig recorded on one of its RCs, or undefined when unreadable. */
export function decodeDeploymentConfig(rc: Annotated): DeploymentConfig | undefined {
  const raw = rc.metadata.annotations?.[DC_ANNOTATIONS.encodedConfig];
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const dc = parsed as DeploymentConfig;
    return dc.spec && typeof dc.spec === 'object' ? dc : undefined;
  } catch {
    return undefined;
  }
}

/** The rolling update's pod counts for `replicas` (Recreate: 0 surge, all may go). */
export function dcFenceposts(dc: Pick<DeploymentConfig, 'spec'>, replicas: number): Fenceposts {
  const p = dc.spec.strategy?.rollingParams;
  return resolveFenceposts(
    p?.maxSurge ?? DC_DEFAULTS.maxSurge,
    p?.maxUnavailable ?? DC_DEFAULTS.maxUnavailable,
    replicas,
  );
}

/** `oc get dc`'s TRIGGERED BY: `config,image(web:latest)`, automatic image triggers only. */
export function triggeredByColumn(dc: DeploymentConfig): string {
  const containers = dc.spec.template?.spec.containers ?? [];
  const seen = new Set<string>();
  for (const t of dc.spec.triggers ?? []) {
    if (t.type === 'ConfigChange') seen.add('config');
    else if (t.imageChangeParams?.automatic) {
      const names = [...(t.imageChangeParams.containerNames ?? [])].sort();
      const all = containers.length === 1 || containers.every((c) => names.includes(c.name));
      const prefix = all ? '' : `${names.join(',')}:`;
      seen.add(`image(${prefix}${t.imageChangeParams.from.name})`);
    }
  }
  const flags = [dc.spec.test ? '(test)' : '', dc.spec.paused ? '(paused)' : ''];
  return [[...seen].sort().join(','), ...flags].filter(Boolean).join(' ');
}

export const deploymentConfigKind = defineKind<DeploymentConfig>({
  kind: 'DeploymentConfig',
  group: APPS_GROUP,
  version: 'v1',
  plural: 'deploymentconfigs',
  shortNames: ['dc'],
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  validate,
  normalize,
  statusSubresource: true,
  columns: [
    { header: 'REVISION', value: (dc) => String(dc.status?.latestVersion ?? 0) },
    { header: 'DESIRED', value: (dc) => String(dc.spec.replicas ?? 0) },
    { header: 'CURRENT', value: (dc) => String(dc.status?.replicas ?? 0) },
    { header: 'TRIGGERED BY', value: triggeredByColumn },
  ],
});
