/**
 * Build webhooks: `POST /apis/build.openshift.io/v1/namespaces/NS/buildconfigs/BC/webhooks/
 * SECRET/(generic|github)`, reached without a bearer token: the secret in the URL is the
 * credential. It is compared in constant time with each trigger's secret (inline `secret`, or
 * `secretReference` to a Secret's `WebHookSecretKey`). A missing project, BuildConfig or
 * trigger and a wrong secret all get the same 404, so the endpoint tells a caller without the
 * secret nothing, and no build. Answers never carry a secret or the build's spec: a Status
 * naming the build started, or saying why none was.
 *
 * GitHub: only `push` events build (`ping` is answered, anything else refused); the push must
 * be to the branch the BuildConfig builds (its `ref`, or the repository's default branch when
 * it has none), and its head commit becomes the build's `spec.revision`. Generic: an optional
 * payload `{git: {uri, ref, commit, author, committer, message}, env}`; a `ref` must match the
 * BuildConfig's (OpenShift's default `master` when it has none); `env` only when the trigger
 * sets `allowEnv`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiError, isApiError } from '../../src/api/errors.js';
import { checkGitCommit } from '../../src/api/git-source.js';
import { buildConfigKind, secretKind } from '../../src/api/kinds/index.js';
import {
  TRIGGER_MESSAGES,
  WEBHOOK_SECRET_KEY,
  type BuildConfig,
  type BuildTriggerPolicy,
  type WebHookTrigger,
} from '../../src/api/kinds/build-config.js';
import type { BuildTriggerCause } from '../../src/api/kinds/build.js';
import type { BuildEnvVar, GitRevision } from '../../src/api/kinds/build-spec.js';
import type { Secret } from '../../src/api/kinds/secret.js';
import { parseWith } from '../../src/api/validation.js';
import { decodeObjectBody, mediaType, readBody } from './body.js';
import { checkPayloadRef, type BuildInstantiator, type BuildRequest } from './build-instantiate.js';
import type { ResourceStore } from './resources.js';

export const WEBHOOK_ROUTE =
  '/apis/build.openshift.io/v1/namespaces/:namespace/buildconfigs/:name/webhooks/:secret/:type';

/** OpenShift's default branch for a BuildConfig without a ref. */
const DEFAULT_CONFIG_REF = 'master';
const WEBHOOK_BODY_MAX = 3 * 1024 * 1024;

/** A request path with a webhook secret replaced, for logs. */
export function redactWebhookPath(path: string): string {
  return path.replace(/(\/webhooks\/)[^/]*(\/|$)/, '$1redacted$2');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality of two secrets (compared as SHA-256 digests). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function strip(ref: string): string {
  return ref.replace(/^refs\/heads\//, '');
}

/** Whether a pushed ref is the branch the BuildConfig builds. */
export function refMatches(
  eventRef: string,
  configRef: string | undefined,
  fallback: string,
): boolean {
  return strip(eventRef) === strip(configRef || fallback);
}

const person = z.looseObject({ name: z.string().optional(), email: z.string().optional() });

const genericPayloadSchema = z.looseObject({
  type: z.string().optional(),
  git: z
    .looseObject({
      uri: z.string().optional(),
      ref: z.string().optional(),
      commit: z.string().optional(),
      author: person.optional(),
      committer: person.optional(),
      message: z.string().optional(),
    })
    .optional(),
  env: z.array(z.looseObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
});

const githubPushSchema = z.looseObject({
  ref: z.string(),
  after: z.string().optional(),
  deleted: z.boolean().optional(),
  head_commit: z
    .looseObject({
      id: z.string().optional(),
      message: z.string().optional(),
      author: person.optional(),
      committer: person.optional(),
    })
    .nullable()
    .optional(),
  repository: z.looseObject({ default_branch: z.string().optional() }).optional(),
});

type Outcome = { build: true; request: BuildRequest } | { build: false; message: string };

function payloadError(causes: { field?: string; message: string }[]): ApiError {
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  return ApiError.badRequest(`the webhook payload is invalid: ${summary}`, causes);
}

interface Person {
  name?: string | undefined;
  email?: string | undefined;
  [field: string]: unknown;
}

function gitRevision(
  commit: string | undefined,
  rest: {
    author?: Person | undefined;
    committer?: Person | undefined;
    message?: string | undefined;
  },
): GitRevision | undefined {
  if (!commit) return undefined;
  const causes = checkGitCommit(commit, 'commit');
  if (causes.length > 0) throw payloadError(causes);
  const who = (p: Person): Person => ({
    ...(typeof p.name === 'string' ? { name: p.name.slice(0, 256) } : {}),
    ...(typeof p.email === 'string' ? { email: p.email.slice(0, 256) } : {}),
  });
  const revision: GitRevision = { commit };
  if (rest.author) revision.author = who(rest.author);
  if (rest.committer) revision.committer = who(rest.committer);
  if (rest.message) revision.message = rest.message.slice(0, 4096);
  return revision;
}

/** What a generic webhook call asks for. */
export function genericOutcome(bc: BuildConfig, hook: WebHookTrigger, body: unknown): Outcome {
  const cause: BuildTriggerCause = { message: TRIGGER_MESSAGES.generic };
  if (body === undefined) {
    return { build: true, request: { triggeredBy: [{ ...cause, genericWebHook: {} }] } };
  }
  const parsed = parseWith(genericPayloadSchema, body);
  if (!parsed.ok) throw payloadError(parsed.causes);
  const payload = parsed.value;
  const configRef = bc.spec.source?.git?.ref;
  if (payload.git?.ref) {
    checkPayloadRef(payload.git.ref, 'git.ref');
    if (!refMatches(payload.git.ref, configRef, DEFAULT_CONFIG_REF)) {
      return {
        build: false,
        message: `no build started: the payload's ref ${payload.git.ref} is not the ref the build configuration builds (${configRef || DEFAULT_CONFIG_REF})`,
      };
    }
  }
  const request: BuildRequest = {};
  const revision = gitRevision(payload.git?.commit, payload.git ?? {});
  if (revision) request.revision = { type: 'Git', git: revision };
  request.triggeredBy = [
    { ...cause, genericWebHook: revision ? { revision: { type: 'Git', git: revision } } : {} },
  ];
  if (payload.env?.length && hook.allowEnv) {
    request.env = payload.env.map((e): BuildEnvVar => ({ name: e.name, value: e.value ?? '' }));
  }
  return { build: true, request };
}

/** What a GitHub webhook call asks for. */
export function githubOutcome(bc: BuildConfig, event: string | undefined, body: unknown): Outcome {
  if (event === 'ping')
    return { build: false, message: 'pong: the webhook works; pushes will start builds' };
  if (event !== 'push') {
    throw ApiError.badRequest(
      `unsupported GitHub event ${JSON.stringify(event ?? '')} (X-GitHub-Event): only push events start builds`,
    );
  }
  const parsed = parseWith(githubPushSchema, body);
  if (!parsed.ok) throw payloadError(parsed.causes);
  const push = parsed.value;
  checkPayloadRef(push.ref, 'ref');
  const configRef = bc.spec.source?.git?.ref;
  const fallback = push.repository?.default_branch || DEFAULT_CONFIG_REF;
  if (!refMatches(push.ref, configRef, fallback)) {
    return {
      build: false,
      message: `no build started: the push to ${push.ref} is not to the branch the build configuration builds (${configRef || fallback})`,
    };
  }
  if (push.deleted || /^0+$/.test(push.after ?? '')) {
    return { build: false, message: `no build started: ${push.ref} was deleted` };
  }
  const head = push.head_commit ?? {};
  const revision = gitRevision(head.id ?? push.after, head);
  return {
    build: true,
    request: {
      triggeredBy: [
        {
          message: TRIGGER_MESSAGES.github,
          githubWebHook: revision ? { revision: { type: 'Git', git: revision } } : {},
        },
      ],
      ...(revision ? { revision: { type: 'Git', git: revision } } : {}),
    },
  };
}

export interface WebhookOptions {
  resources: ResourceStore;
  instantiator: BuildInstantiator;
  logger: Logger;
}

const HOOK_TYPES = { generic: 'Generic', github: 'GitHub' } as const;

function success(message: string, build?: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    message,
    ...(build ? { details: { name: build, group: 'build.openshift.io', kind: 'builds' } } : {}),
    code: 200,
  };
}

/** The router serving webhooks; mount it before authentication. */
export function buildWebhookRouter(options: WebhookOptions): express.Router {
  const { resources, instantiator } = options;
  const log = options.logger.child({ component: 'build-webhooks' });
  const router = express.Router();

  const secretOf = async (namespace: string, hook: WebHookTrigger): Promise<string | undefined> => {
    if (hook.secret) return hook.secret;
    const name = hook.secretReference?.name;
    if (!name) return undefined;
    try {
      const secret = (await resources.get(secretKind, namespace, name)) as Secret;
      const value = secret.data?.[WEBHOOK_SECRET_KEY];
      return value ? Buffer.from(value, 'base64').toString('utf8') : undefined;
    } catch (err) {
      if (isApiError(err, 'NotFound')) return undefined;
      throw err;
    }
  };

  router.post(WEBHOOK_ROUTE, async (req: Request, res: Response) => {
    const params = req.params as Record<string, string | undefined>;
    const namespace = params.namespace ?? '';
    const name = params.name ?? '';
    const secret = params.secret ?? '';
    const type = params.type ?? '';
    const notFound = new ApiError(
      'NotFound',
      `buildconfigs.build.openshift.io "${name}" not found`,
      { details: { name, group: 'build.openshift.io', kind: 'buildconfigs' } },
    );
    const triggerType = HOOK_TYPES[type as keyof typeof HOOK_TYPES] as
      BuildTriggerPolicy['type'] | undefined;
    let bc: BuildConfig;
    try {
      bc = (await resources.get(buildConfigKind, namespace, name)) as BuildConfig;
    } catch (err) {
      if (isApiError(err, 'NotFound') || isApiError(err, 'BadRequest')) throw notFound;
      throw err;
    }
    let hook: WebHookTrigger | undefined;
    for (const trigger of bc.spec.triggers ?? []) {
      if (!triggerType || trigger.type !== triggerType) continue;
      const candidate = triggerType === 'GitHub' ? trigger.github : trigger.generic;
      if (!candidate) continue;
      const expected = await secretOf(namespace, candidate);
      if (expected !== undefined && secretsEqual(expected, secret) && !hook) hook = candidate;
    }
    if (!hook) {
      log.info(
        { namespace, buildConfig: name, type },
        'webhook refused: no trigger accepts the secret',
      );
      throw notFound;
    }

    const buf = await readBody(req, WEBHOOK_BODY_MAX);
    const body =
      buf.toString('utf8').trim() === '' ? undefined : decodeObjectBody(buf, mediaType(req));
    const outcome =
      triggerType === 'GitHub'
        ? githubOutcome(bc, req.headers['x-github-event'] as string | undefined, body)
        : genericOutcome(bc, hook, body);
    if (!outcome.build) {
      res.status(200).json(success(outcome.message));
      return;
    }
    const build = await instantiator.instantiate(namespace, name, outcome.request);
    log.info(
      { namespace, buildConfig: name, build: build.metadata.name, type },
      'webhook started a build',
    );
    res
      .status(200)
      .json(success(`build "${build.metadata.name ?? ''}" started`, build.metadata.name));
  });

  return router;
}
