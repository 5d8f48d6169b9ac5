/**
 * When a DeploymentConfig rolls out (pure decisions shared by the controller and the
 * `instantiate` subresource), after OpenShift's image trigger controller, its
 * DeploymentConfigController.triggerActivated and the instantiate REST handler:
 *
 * - an automatic ImageChange trigger puts the image its tag points at now into the containers
 *   it names and records it as `lastTriggeredImage` (a spec change);
 * - the first rollout happens once every ImageChange trigger has an image (a configuration
 *   with only a ConfigChange trigger rolls out at once);
 * - later, a container image that differs from the latest RC's is an image change; a pod
 *   template that differs from the one recorded on the latest RC is a config change;
 * - `rollout latest` (instantiate with `force`) rolls out whatever changed or not.
 */
import { jsonEqual } from '../merge-patch.js';
import {
  DC_REASONS,
  decodeDeploymentConfig,
  hasConfigChangeTrigger,
  imageChangeTriggers,
  type DeploymentCause,
  type DeploymentConfig,
  type DeploymentConfigStatus,
} from './deployment-config.js';
import { resolveImageReference, type StreamLookup } from './image-stream.js';

type Annotated = { metadata: { annotations?: Record<string, string> | undefined } };

/** Why an ImageChange trigger has no image: `the image stream tag demo/web:latest has no
 * image yet`; undefined when it resolves. */
export function unresolvedTrigger(dc: DeploymentConfig, lookup: StreamLookup): string | undefined {
  const namespace = dc.metadata.namespace ?? '';
  for (const t of imageChangeTriggers(dc)) {
    const p = t.imageChangeParams!;
    if (p.lastTriggeredImage) continue;
    const resolved = resolveImageReference(
      { kind: 'ImageStreamTag', name: p.from.name, namespace: p.from.namespace || namespace },
      namespace,
      lookup,
    );
    if (!resolved.ok) return resolved.message;
    if (!p.automatic) return `the image change trigger for ${p.from.name} is not automatic`;
  }
  return undefined;
}

/**
 * The configuration with each ImageChange trigger's current image in its containers and
 * `lastTriggeredImage` (OpenShift's UpdateDeploymentConfigImages): only automatic triggers
 * unless `all`. Returns undefined when nothing changes. A trigger whose tag does not resolve
 * keeps (and re-applies) its last image.
 */
export function withTriggeredImages(
  dc: DeploymentConfig,
  lookup: StreamLookup,
  all = false,
): DeploymentConfig | undefined {
  const namespace = dc.metadata.namespace ?? '';
  let next: DeploymentConfig | undefined;
  const copy = (): DeploymentConfig => (next ??= structuredClone(dc));
  (dc.spec.triggers ?? []).forEach((t, i) => {
    const p = t.imageChangeParams;
    if (t.type !== 'ImageChange' || !p || (p.from.kind ?? 'ImageStreamTag') !== 'ImageStreamTag')
      return;
    if (!p.automatic && !all) return;
    const resolved = resolveImageReference(
      { kind: 'ImageStreamTag', name: p.from.name, namespace: p.from.namespace || namespace },
      namespace,
      lookup,
    );
    const ref = resolved.ok ? resolved.dockerImageReference : p.lastTriggeredImage;
    if (!ref) return;
    if (p.lastTriggeredImage !== ref) {
      copy().spec.triggers![i]!.imageChangeParams!.lastTriggeredImage = ref;
    }
    const names = new Set(p.containerNames ?? []);
    for (const group of ['initContainers', 'containers'] as const) {
      (dc.spec.template?.spec[group] ?? []).forEach((c, j) => {
        if (!names.has(c.name) || c.image === ref) return;
        copy().spec.template!.spec[group]![j]!.image = ref;
      });
    }
  });
  return next;
}

/** Every container has an image (OpenShift never deploys an empty or blank one). */
export function imagesResolved(dc: DeploymentConfig): boolean {
  const spec = dc.spec.template?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].every(
    (c) => (c.image ?? '').trim() !== '',
  );
}

/** Every ImageChange trigger has had an image (and there is at least one). */
function hasLastTriggeredImages(dc: DeploymentConfig): boolean {
  const triggers = imageChangeTriggers(dc);
  return (
    triggers.length > 0 && triggers.every((t) => Boolean(t.imageChangeParams?.lastTriggeredImage))
  );
}

/** Container images of the configuration missing from the RC's template. */
export function updatedImages(
  dc: DeploymentConfig,
  rc: { spec: { template?: DeploymentConfig['spec']['template'] } },
): string[] {
  const rcImages = new Set((rc.spec.template?.spec.containers ?? []).map((c) => c.image));
  return (dc.spec.template?.spec.containers ?? [])
    .map((c) => c.image ?? '')
    .filter((image) => !rcImages.has(image));
}

/** The pod template recorded on the RC equals the configuration's. */
export function hasLatestPodTemplate(dc: DeploymentConfig, rc: Annotated): boolean {
  const recorded = decodeDeploymentConfig(rc);
  return recorded !== undefined && jsonEqual(recorded.spec.template, dc.spec.template);
}

export function configChangeDetails(): NonNullable<DeploymentConfigStatus['details']> {
  return { message: DC_REASONS.configChange, causes: [{ type: 'ConfigChange' }] };
}

export function imageChangeDetails(
  images: readonly string[],
): NonNullable<DeploymentConfigStatus['details']> {
  return {
    message: DC_REASONS.imageChange,
    causes: images.map((name): DeploymentCause => ({
      type: 'ImageChange',
      imageTrigger: { from: { kind: 'DockerImage', name } },
    })),
  };
}

/** What the controller decides about triggers (OpenShift's triggerActivated). */
export type TriggerDecision =
  | { action: 'none' }
  /** The first rollout waits for images: `why` says which. */
  | { action: 'wait'; why: string }
  | { action: 'rollout'; details: NonNullable<DeploymentConfigStatus['details']> };

export function triggerActivated(
  dc: DeploymentConfig,
  latest: ({ spec: { template?: DeploymentConfig['spec']['template'] } } & Annotated) | undefined,
  lookup: StreamLookup,
): TriggerDecision {
  if (dc.spec.paused) return { action: 'none' };
  const imageTrigger = imageChangeTriggers(dc).length > 0;
  const configTrigger = hasConfigChangeTrigger(dc);
  if (!imageTrigger && !configTrigger) return { action: 'none' };
  if ((dc.status?.latestVersion ?? 0) === 0) {
    if (imageTrigger) {
      if (hasLastTriggeredImages(dc)) return { action: 'rollout', details: configChangeDetails() };
      return {
        action: 'wait',
        why: unresolvedTrigger(dc, lookup) ?? 'waiting for the image change triggers to resolve',
      };
    }
    return { action: 'rollout', details: configChangeDetails() };
  }
  if (!latest) return { action: 'none' };
  if (imageTrigger) {
    const images = updatedImages(dc, latest);
    if (images.length > 0) return { action: 'rollout', details: imageChangeDetails(images) };
  }
  if (configTrigger && !hasLatestPodTemplate(dc, latest)) {
    return { action: 'rollout', details: configChangeDetails() };
  }
  return { action: 'none' };
}

/**
 * The `instantiate` subresource's decision (OpenShift's canTrigger after processTriggers):
 * with `force` (`rollout latest`) a new version always; otherwise only for an image or
 * config change. Throws a message when an ImageChange trigger has never resolved.
 */
export function instantiateDecision(
  dc: DeploymentConfig,
  latest: ({ spec: { template?: DeploymentConfig['spec']['template'] } } & Annotated) | undefined,
  force: boolean,
): { rollout: false } | { rollout: true; details: NonNullable<DeploymentConfigStatus['details']> } {
  const unresolved = imageChangeTriggers(dc).filter(
    (t) => !t.imageChangeParams?.lastTriggeredImage,
  );
  if (unresolved.length > 0) {
    throw new Error(
      `cannot trigger a deployment for "${dc.metadata.name ?? ''}" because it contains unresolved images`,
    );
  }
  const recorded = latest ? decodeDeploymentConfig(latest) : undefined;
  const images: string[] = [];
  for (const t of imageChangeTriggers(dc)) {
    const p = t.imageChangeParams!;
    if (!p.automatic || !recorded) continue;
    const before = imageChangeTriggers(recorded).find(
      (r) => r.imageChangeParams?.from.name === p.from.name,
    )?.imageChangeParams?.lastTriggeredImage;
    if (before !== p.lastTriggeredImage) images.push(p.lastTriggeredImage!);
  }
  if (force) {
    return {
      rollout: true,
      details: { message: DC_REASONS.manualChange, causes: [{ type: 'Manual' }] },
    };
  }
  if (images.length > 0) return { rollout: true, details: imageChangeDetails(images) };
  if (
    hasConfigChangeTrigger(dc) &&
    ((dc.status?.latestVersion ?? 0) === 0 || !jsonEqual(recorded?.spec.template, dc.spec.template))
  ) {
    return { rollout: true, details: configChangeDetails() };
  }
  return { rollout: false };
}
