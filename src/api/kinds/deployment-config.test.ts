import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import {
  deploymentConfigKind,
  triggeredByColumn,
  type DeploymentConfig,
} from './deployment-config.js';
import {
  instantiateDecision,
  triggerActivated,
  withTriggeredImages,
} from './deployment-config-triggers.js';
import type { ImageStream } from './image-stream.js';

function dc(spec: Record<string, unknown> = {}, apiVersion = 'apps.openshift.io/v1'): unknown {
  return {
    apiVersion,
    kind: 'DeploymentConfig',
    metadata: { name: 'web', namespace: 'demo' },
    spec: {
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'example/web:1' }] },
      },
      ...spec,
    },
  };
}

const valid = (input: unknown): DeploymentConfig =>
  validateObject(deploymentConfigKind, input) as DeploymentConfig;

function causes(input: unknown): string[] {
  try {
    validateObject(deploymentConfigKind, input);
  } catch (err) {
    if (err instanceof ApiError) {
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    }
    throw err;
  }
  return [];
}

const imageTrigger = (extra: Record<string, unknown> = {}) => ({
  type: 'ImageChange',
  imageChangeParams: {
    automatic: true,
    containerNames: ['web'],
    from: { kind: 'ImageStreamTag', name: 'web:latest' },
    ...extra,
  },
});

describe('DeploymentConfig defaults', () => {
  it("applies OpenShift's: ConfigChange trigger, selector from labels, Rolling 25%/25%, 0 replicas", () => {
    const d = valid(dc({}, 'v1'));
    expect(d.apiVersion).toBe('apps.openshift.io/v1');
    expect(d.spec).toMatchObject({
      replicas: 0,
      selector: { app: 'web' },
      revisionHistoryLimit: 10,
      triggers: [{ type: 'ConfigChange' }],
      strategy: {
        type: 'Rolling',
        rollingParams: {
          updatePeriodSeconds: 1,
          intervalSeconds: 1,
          timeoutSeconds: 600,
          maxSurge: '25%',
          maxUnavailable: '25%',
        },
        activeDeadlineSeconds: 21600,
      },
    });
  });

  it('keeps an empty trigger list, and defaults the other fencepost as OpenShift does', () => {
    expect(valid(dc({ triggers: [] })).spec.triggers).toEqual([]);
    const zeroSurge = valid(dc({ strategy: { rollingParams: { maxSurge: 0 } } }));
    expect(zeroSurge.spec.strategy?.rollingParams).toMatchObject({
      maxSurge: 0,
      maxUnavailable: '25%',
    });
    const someSurge = valid(dc({ strategy: { rollingParams: { maxSurge: 2 } } }));
    expect(someSurge.spec.strategy?.rollingParams).toMatchObject({
      maxSurge: 2,
      maxUnavailable: 0,
    });
    const recreate = valid(dc({ strategy: { type: 'Recreate' } }));
    expect(recreate.spec.strategy).toMatchObject({
      type: 'Recreate',
      recreateParams: { timeoutSeconds: 600 },
    });
    expect(recreate.spec.strategy?.rollingParams).toBeUndefined();
  });

  it('names the hook container when the template has one', () => {
    const d = valid(
      dc({
        strategy: {
          type: 'Rolling',
          rollingParams: { pre: { failurePolicy: 'Abort', execNewPod: { command: ['true'] } } },
        },
      }),
    );
    expect(d.spec.strategy?.rollingParams?.pre?.execNewPod?.containerName).toBe('web');
  });
});

describe('DeploymentConfig validation', () => {
  it('allows an empty image only for a container an ImageChange trigger fills', () => {
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'web', image: ' ' },
          { name: 'side', image: '' },
        ],
      },
    };
    expect(causes(dc({ template, triggers: [imageTrigger()] }))).toEqual([
      'spec.template.spec.containers[1].image: Required value: an image is required unless an ImageChange trigger fills it',
    ]);
    expect(
      causes(dc({ template, triggers: [imageTrigger({ containerNames: ['web', 'side'] })] })),
    ).toEqual([]);
  });

  it('refuses maxSurge and maxUnavailable both 0, bad percentages and bad hooks', () => {
    expect(
      causes(dc({ strategy: { rollingParams: { maxSurge: 0, maxUnavailable: '0%' } } })),
    ).toEqual([
      'spec.strategy.rollingParams.maxUnavailable: Invalid value: "0%": may not be 0 when maxSurge is 0',
    ]);
    expect(
      causes(dc({ strategy: { rollingParams: { maxSurge: '1x', maxUnavailable: '120%' } } })),
    ).toEqual([
      `spec.strategy.rollingParams.maxSurge: Invalid value: "1x": must be an integer or percentage (e.g. '5%')`,
      'spec.strategy.rollingParams.maxUnavailable: Invalid value: "120%": must not be greater than 100%',
    ]);
    const twoContainers = {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'web', image: 'a' },
          { name: 'db', image: 'b' },
        ],
      },
    };
    expect(
      causes(
        dc({
          template: twoContainers,
          strategy: {
            type: 'Recreate',
            recreateParams: {
              pre: {
                failurePolicy: 'Sometimes',
                execNewPod: { command: ['x'], containerName: 'nope' },
              },
              mid: { failurePolicy: 'Abort', execNewPod: { command: [] } },
            },
          },
        }),
      ),
    ).toEqual([
      'spec.strategy.recreateParams.pre.failurePolicy: Unsupported value: "Sometimes": supported values: "Abort", "Retry", "Ignore"',
      'spec.strategy.recreateParams.pre.execNewPod.containerName: Invalid value: "nope": must match a container in the pod template',
      'spec.strategy.recreateParams.mid.execNewPod.command: Required value',
      'spec.strategy.recreateParams.mid.execNewPod.containerName: Required value',
    ]);
  });

  it('checks triggers: image stream tag form, container names, one ConfigChange', () => {
    expect(
      causes(
        dc({
          triggers: [
            { type: 'ConfigChange' },
            { type: 'ConfigChange' },
            imageTrigger({ from: { kind: 'DockerImage', name: 'x' } }),
            imageTrigger({ from: { name: 'web' }, containerNames: ['other'] }),
          ],
        }),
      ),
    ).toEqual([
      'spec.triggers[1].type: Duplicate value: "ConfigChange"',
      'spec.triggers[2].imageChangeParams.from.kind: Unsupported value: "DockerImage": supported values: "ImageStreamTag"',
      'spec.triggers[3].imageChangeParams.from.name: Invalid value: "web": must be of the form <stream>:<tag>',
      'spec.triggers[3].imageChangeParams.containerNames[0]: Invalid value: "other": does not match a container in the pod template',
    ]);
  });

  it('requires a template whose labels the selector picks', () => {
    expect(causes({ ...(dc() as object), spec: { selector: { app: 'web' } } })).toEqual([
      'spec.template: Required value',
    ]);
    expect(causes(dc({ selector: { app: 'other' } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    ]);
  });
});

describe('triggeredByColumn', () => {
  it('lists config and automatic image triggers, as oc does', () => {
    const d = valid(dc({ triggers: [{ type: 'ConfigChange' }, imageTrigger()] }));
    expect(triggeredByColumn(d)).toBe('config,image(web:latest)');
    const manual = valid(dc({ triggers: [imageTrigger({ automatic: false })], paused: true }));
    expect(triggeredByColumn(manual)).toBe('(paused)');
  });
});

const DIGEST = `sha256:${'c'.repeat(64)}`;
const streams = (ref?: string): ((ns: string, name: string) => ImageStream | undefined) => {
  return (ns, name) =>
    ns === 'demo' && name === 'web'
      ? {
          apiVersion: 'image.openshift.io/v1',
          kind: 'ImageStream',
          metadata: { name: 'web', namespace: 'demo' },
          status: {
            tags: ref
              ? [{ tag: 'latest', items: [{ created: 'x', dockerImageReference: ref }] }]
              : [],
          },
        }
      : undefined;
};

describe('image triggers', () => {
  const withImageTrigger = (automatic: boolean): DeploymentConfig =>
    valid(
      dc({
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: ' ' }] },
        },
        triggers: [{ type: 'ConfigChange' }, imageTrigger({ automatic })],
      }),
    );

  it('fills automatic triggers only, and waits for the first image', () => {
    const ref = `r/demo/web@${DIGEST}`;
    expect(withTriggeredImages(withImageTrigger(true), streams())).toBeUndefined();
    const filled = withTriggeredImages(withImageTrigger(true), streams(ref))!;
    expect(filled.spec.template?.spec.containers[0]?.image).toBe(ref);
    expect(filled.spec.triggers?.[1]?.imageChangeParams?.lastTriggeredImage).toBe(ref);
    expect(withTriggeredImages(filled, streams(ref))).toBeUndefined();
    expect(withTriggeredImages(withImageTrigger(false), streams(ref))).toBeUndefined();
    expect(withTriggeredImages(withImageTrigger(false), streams(ref), true)).toBeDefined();

    expect(triggerActivated(withImageTrigger(true), undefined, streams())).toEqual({
      action: 'wait',
      why: 'the image stream tag demo/web:latest has no image yet',
    });
    expect(triggerActivated(filled, undefined, streams(ref))).toMatchObject({
      action: 'rollout',
      details: { message: 'config change' },
    });
  });

  it('instantiate: forced is a manual change; unresolved images are refused', () => {
    expect(() => instantiateDecision(withImageTrigger(true), undefined, true)).toThrow(
      'cannot trigger a deployment for "web" because it contains unresolved images',
    );
    const plain = valid(dc());
    expect(instantiateDecision(plain, undefined, true)).toEqual({
      rollout: true,
      details: { message: 'manual change', causes: [{ type: 'Manual' }] },
    });
    expect(instantiateDecision(plain, undefined, false)).toMatchObject({
      rollout: true,
      details: { message: 'config change' },
    });
  });
});
