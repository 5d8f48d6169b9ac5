/**
 * The objects `new-build` (and the build half of `new-app`) creates, as `oc` creates them: an
 * ImageStream for the output, one for a builder given as a plain image, and a BuildConfig with
 * GitHub and Generic webhooks (random secrets), a ConfigChange and an ImageChange trigger.
 * Pure: the caller resolves builders and creates the objects.
 */
import { randomBytes } from 'node:crypto';
import type { ApiObject } from '../../api/index.js';

export type ObjectReference = { kind: string; name: string; namespace?: string };

export interface BuildPlan {
  name: string;
  /** Labels on everything created (`build=NAME` for new-build, `app=NAME` for new-app). */
  labels: Record<string, string>;
  /** `generated-by` annotation value. */
  generatedBy: 'OpenShiftNewBuild' | 'OpenShiftNewApp';
  strategy: 'Source' | 'Docker';
  /** The builder (Source) or the FROM override (Docker); undefined: the Dockerfile's own. */
  from: ObjectReference | undefined;
  /** A builder given as a plain image gets its own stream, tagged from that image. */
  builderImage?: { streamName: string; tag: string; image: string } | undefined;
  source:
    | { type: 'Git'; uri: string; ref: string | undefined; contextDir: string | undefined }
    | { type: 'Binary'; contextDir: string | undefined };
  env: { name: string; value: string }[];
  /** Output stream tag name (`NAME:latest` unless --to). */
  outputTag: string;
  dockerfilePath?: string | undefined;
  incremental?: boolean | undefined;
  /** A Secret with the repository's credentials (basic-auth or ssh-auth). */
  sourceSecret?: string | undefined;
}

/** A webhook secret like oc's: 20 random bytes as hex is plenty and URL-safe. */
export function webhookSecret(): string {
  return randomBytes(20).toString('hex');
}

function meta(plan: BuildPlan, name: string): ApiObject['metadata'] {
  return {
    name,
    labels: { ...plan.labels },
    annotations: { 'openshift.io/generated-by': plan.generatedBy },
  };
}

export function imageStreams(plan: BuildPlan): ApiObject[] {
  const streams: ApiObject[] = [];
  if (plan.builderImage) {
    streams.push({
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStream',
      metadata: meta(plan, plan.builderImage.streamName),
      spec: {
        lookupPolicy: { local: false },
        tags: [
          {
            name: plan.builderImage.tag,
            from: { kind: 'DockerImage', name: plan.builderImage.image },
            importPolicy: {},
            referencePolicy: { type: 'Source' },
          },
        ],
      },
    });
  }
  const outputStream = plan.outputTag.split(':')[0]!;
  streams.push({
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: meta(plan, outputStream),
    spec: { lookupPolicy: { local: false } },
  });
  return streams;
}

export function buildConfig(
  plan: BuildPlan,
  secrets = { github: webhookSecret(), generic: webhookSecret() },
): ApiObject {
  const source =
    plan.source.type === 'Git'
      ? {
          type: 'Git',
          git: { uri: plan.source.uri, ...(plan.source.ref ? { ref: plan.source.ref } : {}) },
          ...(plan.source.contextDir ? { contextDir: plan.source.contextDir } : {}),
          ...(plan.sourceSecret ? { sourceSecret: { name: plan.sourceSecret } } : {}),
        }
      : {
          type: 'Binary',
          binary: {},
          ...(plan.source.contextDir ? { contextDir: plan.source.contextDir } : {}),
        };
  const env = plan.env.length > 0 ? { env: plan.env } : {};
  const strategy =
    plan.strategy === 'Source'
      ? {
          type: 'Source',
          sourceStrategy: {
            from: plan.from,
            ...env,
            ...(plan.incremental ? { incremental: true } : {}),
          },
        }
      : {
          type: 'Docker',
          dockerStrategy: {
            ...(plan.from ? { from: plan.from } : {}),
            ...env,
            ...(plan.dockerfilePath && plan.dockerfilePath !== 'Dockerfile'
              ? { dockerfilePath: plan.dockerfilePath }
              : {}),
          },
        };
  // A binary build has nothing to build until someone uploads: no automatic triggers.
  const triggers =
    plan.source.type === 'Binary'
      ? []
      : [
          { type: 'GitHub', github: { secret: secrets.github } },
          { type: 'Generic', generic: { secret: secrets.generic } },
          { type: 'ConfigChange' },
          ...(plan.from?.kind === 'ImageStreamTag'
            ? [{ type: 'ImageChange', imageChange: {} }]
            : []),
        ];
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: meta(plan, plan.name),
    spec: {
      runPolicy: 'Serial',
      source,
      strategy,
      output: { to: { kind: 'ImageStreamTag', name: plan.outputTag } },
      triggers,
      successfulBuildsHistoryLimit: 5,
      failedBuildsHistoryLimit: 5,
    },
  };
}
