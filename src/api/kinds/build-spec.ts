/**
 * What BuildConfig and Build share (OpenShift's CommonSpec): source, strategy, output,
 * resources, post-commit hook, node selector and the revision. Schemas, types and the checks
 * that name each field.
 */
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import {
  checkContextDir,
  checkGitCommit,
  hasControlCharacter,
  validateGitSource,
} from '../git-source.js';
import {
  imageReferenceSchema,
  validateImageReference,
  type ImageReference,
} from './image-stream.js';

export const BUILD_GROUP = 'build.openshift.io';

const quantity = z.union([z.string().min(1), z.number()]);

export const buildEnvVarSchema = z.looseObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z.looseObject({}).optional(),
});

const localRef = z.looseObject({ name: z.string().min(1) });

const person = z.looseObject({ name: z.string().optional(), email: z.string().optional() });

export const gitRevisionSchema = z.looseObject({
  commit: z.string().optional(),
  author: person.optional(),
  committer: person.optional(),
  message: z.string().optional(),
});

export const sourceRevisionSchema = z.looseObject({
  type: z.string().optional(),
  git: gitRevisionSchema.optional(),
});

export const buildSourceSchema = z.looseObject({
  type: z.enum(['Git', 'Dockerfile', 'Binary', 'Image', 'None']).optional(),
  git: z
    .looseObject({
      uri: z.string(),
      ref: z.string().optional(),
      httpProxy: z.string().optional(),
      httpsProxy: z.string().optional(),
      noProxy: z.string().optional(),
    })
    .optional(),
  dockerfile: z.string().optional(),
  binary: z.looseObject({ asFile: z.string().optional() }).optional(),
  contextDir: z.string().optional(),
  sourceSecret: localRef.optional(),
});

const sourceStrategySchema = z.looseObject({
  from: imageReferenceSchema,
  env: z.array(buildEnvVarSchema).optional(),
  incremental: z.boolean().optional(),
  forcePull: z.boolean().optional(),
  scripts: z.string().optional(),
  pullSecret: localRef.optional(),
});

const dockerStrategySchema = z.looseObject({
  from: imageReferenceSchema.optional(),
  dockerfilePath: z.string().optional(),
  buildArgs: z.array(buildEnvVarSchema).optional(),
  env: z.array(buildEnvVarSchema).optional(),
  noCache: z.boolean().optional(),
  forcePull: z.boolean().optional(),
  pullSecret: localRef.optional(),
});

export const buildStrategySchema = z.looseObject({
  type: z.enum(['Source', 'Docker']).optional(),
  sourceStrategy: sourceStrategySchema.optional(),
  dockerStrategy: dockerStrategySchema.optional(),
});

/** The fields of CommonSpec, for a kind's `spec` schema. */
export const commonSpecShape = {
  serviceAccount: z.string().optional(),
  source: buildSourceSchema.optional(),
  revision: sourceRevisionSchema.optional(),
  strategy: buildStrategySchema,
  output: z
    .looseObject({
      to: imageReferenceSchema.optional(),
      pushSecret: localRef.optional(),
    })
    .optional(),
  resources: z
    .looseObject({
      limits: z.record(z.string(), quantity).optional(),
      requests: z.record(z.string(), quantity).optional(),
    })
    .optional(),
  postCommit: z
    .looseObject({
      script: z.string().optional(),
      command: z.array(z.string()).optional(),
      args: z.array(z.string()).optional(),
    })
    .optional(),
  completionDeadlineSeconds: z.number().int().min(1).optional(),
  nodeSelector: z.record(z.string(), z.string()).nullable().optional(),
  mountTrustedCA: z.boolean().optional(),
};

/** Where the cluster's trusted CA bundle for builds lives (OpenShift's names). */
export const TRUSTED_CA_CONFIGMAP = {
  namespace: 'openshift-config',
  name: 'user-ca-bundle',
  key: 'ca-bundle.crt',
} as const;

export type BuildEnvVar = z.infer<typeof buildEnvVarSchema>;
export type GitRevision = z.infer<typeof gitRevisionSchema>;
export type SourceRevision = z.infer<typeof sourceRevisionSchema>;
export type BuildSource = z.infer<typeof buildSourceSchema>;
export type BuildStrategy = z.infer<typeof buildStrategySchema>;

export interface CommonSpec {
  serviceAccount?: string;
  source?: BuildSource;
  revision?: SourceRevision;
  strategy: BuildStrategy;
  output?: { to?: ImageReference; pushSecret?: { name: string } };
  resources?: {
    limits?: Record<string, string | number>;
    requests?: Record<string, string | number>;
  };
  postCommit?: { script?: string; command?: string[]; args?: string[] };
  completionDeadlineSeconds?: number;
  nodeSelector?: Record<string, string> | null;
  /**
   * Give the build the cluster's trusted CA bundle (ConfigMap `openshift-config/user-ca-bundle`,
   * key `ca-bundle.crt`), as OpenShift does for its proxy's CAs; nothing of it stays in the image.
   */
  mountTrustedCA?: boolean;
}

/** `Source` or `Docker`: the strategy's type, or the one its fields imply. */
export function strategyType(strategy: BuildStrategy | undefined): 'Source' | 'Docker' | undefined {
  if (!strategy) return undefined;
  if (strategy.type) return strategy.type;
  if (strategy.sourceStrategy) return 'Source';
  if (strategy.dockerStrategy) return 'Docker';
  return undefined;
}

/** The builder image reference of a strategy (Source's `from`, Docker's optional `from`). */
export function strategyFrom(strategy: BuildStrategy | undefined): ImageReference | undefined {
  const type = strategyType(strategy);
  if (type === 'Source') return strategy?.sourceStrategy?.from;
  if (type === 'Docker') return strategy?.dockerStrategy?.from;
  return undefined;
}

/** FROM column: `Git`, `Git@<ref or commit>`, `Dockerfile`, `Binary`. */
export function describeSourceShort(spec: CommonSpec | undefined): string {
  const source = spec?.source;
  if (source?.git) {
    const commit = spec?.revision?.git?.commit;
    if (commit) return `Git@${commit.slice(0, 7)}`;
    return source.git.ref ? `Git@${source.git.ref}` : 'Git';
  }
  if (source?.dockerfile !== undefined) return 'Dockerfile';
  if (source?.binary) return 'Binary';
  return '';
}

/** Every check on a CommonSpec, fields named under `prefix`. */
export function validateCommonSpec(spec: CommonSpec, prefix = 'spec'): StatusCause[] {
  const causes: StatusCause[] = [];
  const type = strategyType(spec.strategy);
  const strategy = spec.strategy;
  if (!type) {
    causes.push({
      field: `${prefix}.strategy.type`,
      message: 'Required value: "Source" or "Docker"',
      reason: 'FieldValueRequired',
    });
  } else if (type === 'Source') {
    if (!strategy.sourceStrategy) {
      causes.push({
        field: `${prefix}.strategy.sourceStrategy`,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
    } else {
      causes.push(
        ...validateImageReference(
          strategy.sourceStrategy.from,
          `${prefix}.strategy.sourceStrategy.from`,
        ),
      );
    }
    if (strategy.dockerStrategy) {
      causes.push({
        field: `${prefix}.strategy.dockerStrategy`,
        message: 'Forbidden: only the strategy of the given type may be set',
        reason: 'FieldValueForbidden',
      });
    }
  } else {
    if (!strategy.dockerStrategy && strategy.type === 'Docker' && strategy.sourceStrategy) {
      causes.push({
        field: `${prefix}.strategy.sourceStrategy`,
        message: 'Forbidden: only the strategy of the given type may be set',
        reason: 'FieldValueForbidden',
      });
    }
    const docker = strategy.dockerStrategy;
    if (docker?.from) {
      causes.push(...validateImageReference(docker.from, `${prefix}.strategy.dockerStrategy.from`));
    }
    if (docker?.dockerfilePath) {
      causes.push(
        ...checkContextDir(
          docker.dockerfilePath,
          `${prefix}.strategy.dockerStrategy.dockerfilePath`,
        ),
      );
    }
  }

  const source = spec.source;
  causes.push(...validateGitSource(source, `${prefix}.source`, { allowFile: true }));
  if (source?.type === 'Git' && !source.git) {
    causes.push({
      field: `${prefix}.source.git`,
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  }
  if (source?.type === 'Binary' && !source.binary) {
    causes.push({
      field: `${prefix}.source.binary`,
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  }
  const asFile = source?.binary?.asFile;
  if (asFile !== undefined && asFile !== '' && !isPlainFileName(asFile)) {
    causes.push({
      field: `${prefix}.source.binary.asFile`,
      message: `Invalid value: ${JSON.stringify(asFile)}: must be a file name without path separators`,
      reason: 'FieldValueInvalid',
    });
  }
  const to = spec.output?.to;
  if (to) {
    causes.push(
      ...validateImageReference(to, `${prefix}.output.to`, ['ImageStreamTag', 'DockerImage']),
    );
  }
  const commit = spec.revision?.git?.commit;
  if (commit !== undefined) {
    causes.push(...checkGitCommit(commit, `${prefix}.revision.git.commit`));
  }
  return causes;
}

/** A single path component, as `asFile` must be. */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\]/.test(name) &&
    !hasControlCharacter(name) &&
    !name.startsWith('-')
  );
}
