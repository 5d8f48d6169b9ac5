/**
 * When a BuildConfig builds by itself:
 * - ConfigChange: once, for a new configuration (lastVersion 0). When an ImageChange trigger
 *   watches the strategy's image and that image does not exist yet, the first build waits for
 *   it, so the image's arrival does not build a second time.
 * - ImageChange: when the image a trigger watches now resolves to another image than the one
 *   that last triggered it (`lastTriggeredImageID`). The instantiate records the image in the
 *   same write as the build, and refuses an image that already triggered, so one image change
 *   builds once.
 * Binary-input configurations build only from uploads.
 */
import {
  hasTrigger,
  imageChangeTriggerFrom,
  lastTriggeredImageID,
  resolveImageReference,
  strategyFrom,
  TRIGGER_MESSAGES,
  type BuildConfig,
  type ImageReference,
  type BuildTriggerCause,
  type StreamLookup,
} from '../../../src/api/index.js';

/** What the build controller asks the server to instantiate. */
export interface TriggerRequest {
  triggeredBy: BuildTriggerCause[];
  lastVersion: number;
  triggeredByImage?: ImageReference;
  from?: ImageReference;
}

export function nextTriggeredBuild(
  bc: BuildConfig,
  lookup: StreamLookup,
): TriggerRequest | undefined {
  if (bc.spec.source?.binary) return undefined;
  const namespace = bc.metadata.namespace ?? '';
  const lastVersion = bc.status?.lastVersion ?? 0;
  const imageTriggers = (bc.spec.triggers ?? []).filter((t) => t.type === 'ImageChange');

  if (lastVersion === 0 && hasTrigger(bc, 'ConfigChange')) {
    const watchesStrategy = imageTriggers.some((t) => !t.imageChange?.from);
    const from = strategyFrom(bc.spec.strategy);
    if (watchesStrategy && from && !resolveImageReference(from, namespace, lookup).ok) {
      return undefined;
    }
    return { triggeredBy: [{ message: TRIGGER_MESSAGES.configChange }], lastVersion };
  }

  for (const trigger of imageTriggers) {
    if (trigger.imageChange?.paused) continue;
    const from = imageChangeTriggerFrom(bc, trigger);
    if (!from) continue;
    const resolved = resolveImageReference(from, namespace, lookup);
    if (!resolved.ok) continue;
    const image = resolved.dockerImageReference;
    if (image === lastTriggeredImageID(bc, trigger)) continue;
    const fromRef: ImageReference = {
      kind: 'ImageStreamTag',
      name: from.name,
      namespace: from.namespace || namespace,
    };
    return {
      triggeredBy: [
        { message: TRIGGER_MESSAGES.imageChange, imageChangeBuild: { imageID: image, fromRef } },
      ],
      triggeredByImage: { kind: 'DockerImage', name: image },
      from,
      lastVersion,
    };
  }
  return undefined;
}
