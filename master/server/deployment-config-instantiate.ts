/**
 * `POST /apis/apps.openshift.io/v1/namespaces/NS/deploymentconfigs/NAME/instantiate` with a
 * DeploymentRequest (`{name, latest, force, excludeTriggers}`): OpenShift's way to start a
 * rollout (`oc rollout latest`). RBAC `create` on `deploymentconfigs/instantiate`.
 *
 * With `latest`, the ImageChange triggers' images are resolved first (every trigger when
 * `force`, automatic ones otherwise; `excludeTriggers: [ImageChange]` skips them). With
 * `force` a new version always starts (cause: manual change); otherwise only when an image or
 * the pod template changed since the latest version. The template, the triggers' images and the
 * new `status.latestVersion` are written in one update at the read revision, so a concurrent
 * change is never overwritten; the controller makes the RC. Answers 201 with the
 * DeploymentConfig, or 200 with it unchanged when nothing triggered.
 */
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { ApiError, isApiError, unlessNotFound } from '../../src/api/errors.js';
import {
  deploymentConfigKind,
  imageStreamKind,
  replicationControllerKind,
} from '../../src/api/kinds/index.js';
import {
  APPS_GROUP,
  deploymentNameFor,
  imageChangeTriggers,
  type DeploymentConfig,
} from '../../src/api/kinds/deployment-config.js';
import {
  instantiateDecision,
  withTriggeredImages,
} from '../../src/api/kinds/deployment-config-triggers.js';
import { parseImageStreamTagName, type ImageStream } from '../../src/api/kinds/image-stream.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { parseWith } from '../../src/api/validation.js';
import type { RuleAuthorizer } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/user.js';
import { decodeObjectBody, mediaType, readBody } from './body.js';
import type { ResourceStore } from './resources.js';

export interface DeploymentRequest {
  latest: boolean;
  force: boolean;
  excludeTriggers: string[];
}

const requestSchema = z.looseObject({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  name: z.string().optional(),
  latest: z.boolean().optional(),
  force: z.boolean().optional(),
  excludeTriggers: z
    .array(z.enum(['ConfigChange', 'ImageChange']))
    .nullable()
    .optional(),
});

/** Checks a DeploymentRequest body against the name in the URL. */
export function parseDeploymentRequest(body: unknown, name: string): DeploymentRequest {
  if (body === undefined || body === null)
    return { latest: false, force: false, excludeTriggers: [] };
  const parsed = parseWith(requestSchema, body);
  if (!parsed.ok) throw ApiError.invalid('DeploymentRequest', name, parsed.causes);
  const r = parsed.value;
  if (r.kind !== undefined && r.kind !== 'DeploymentRequest') {
    throw ApiError.invalid('DeploymentRequest', name, [
      {
        field: 'kind',
        message: `Invalid value: ${JSON.stringify(r.kind)}: expected "DeploymentRequest"`,
      },
    ]);
  }
  if (r.name !== undefined && r.name !== name) {
    throw ApiError.invalid('DeploymentRequest', name, [
      {
        field: 'name',
        message: `Invalid value: ${JSON.stringify(r.name)}: must be "${name}", the name in the URL`,
      },
    ]);
  }
  return {
    latest: r.latest ?? false,
    force: r.force ?? false,
    excludeTriggers: r.excludeTriggers ?? [],
  };
}

/** How many times a request re-reads after a concurrent change; each means another write won. */
const ATTEMPTS = 20;

export class DeploymentConfigInstantiator {
  readonly #resources: ResourceStore;

  constructor(resources: ResourceStore) {
    this.#resources = resources;
  }

  async #get<T>(
    def: Parameters<ResourceStore['get']>[0],
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    return (await unlessNotFound(this.#resources.get(def, namespace, name))) as T | undefined;
  }

  async instantiate(
    namespace: string,
    name: string,
    request: DeploymentRequest,
  ): Promise<{ created: boolean; dc: DeploymentConfig }> {
    for (let attempt = 0; ; attempt += 1) {
      const dc = (await this.#resources.get(
        deploymentConfigKind,
        namespace,
        name,
      )) as DeploymentConfig;
      if (dc.spec.paused) {
        throw ApiError.badRequest(`cannot deploy a paused deployment config "${name}"`);
      }
      const streams = new Map<string, ImageStream>();
      for (const t of imageChangeTriggers(dc)) {
        const from = t.imageChangeParams!.from;
        const ns = from.namespace || namespace;
        const stream = parseImageStreamTagName(from.name)?.stream;
        if (!stream || streams.has(`${ns}/${stream}`)) continue;
        const found = await this.#get<ImageStream>(imageStreamKind, ns, stream);
        if (found) streams.set(`${ns}/${stream}`, found);
      }
      const version = dc.status?.latestVersion ?? 0;
      const latest =
        version > 0
          ? await this.#get<ReplicationController>(
              replicationControllerKind,
              namespace,
              deploymentNameFor(name, version),
            )
          : undefined;
      let outcome: { created: boolean; dc: DeploymentConfig } | undefined;
      try {
        const written = await this.#resources.modify(
          deploymentConfigKind,
          namespace,
          name,
          (obj) => {
            const current = obj as DeploymentConfig;
            if (current.metadata.resourceVersion !== dc.metadata.resourceVersion) {
              throw ApiError.conflict(
                'deploymentconfigs.apps.openshift.io',
                name,
                'changed meanwhile',
              );
            }
            let next = current;
            if (request.latest && !request.excludeTriggers.includes('ImageChange')) {
              next =
                withTriggeredImages(current, (ns, s) => streams.get(`${ns}/${s}`), request.force) ??
                current;
            }
            let decision: ReturnType<typeof instantiateDecision>;
            try {
              decision = instantiateDecision(next, latest, request.force);
            } catch (err) {
              throw ApiError.badRequest(err instanceof Error ? err.message : String(err));
            }
            if (!decision.rollout) {
              outcome = { created: false, dc: current };
              return current;
            }
            const status = {
              ...next.status,
              latestVersion: version + 1,
              details: decision.details,
            };
            return { ...next, status };
          },
        );
        return outcome ?? { created: true, dc: written as DeploymentConfig };
      } catch (err) {
        if (attempt < ATTEMPTS && isApiError(err, 'Conflict')) continue;
        throw err;
      }
    }
  }
}

function param(req: Request, name: string): string {
  return (req.params as Record<string, string | undefined>)[name] ?? '';
}

export function deploymentConfigRouter(options: {
  resources: ResourceStore;
  authorizer: RuleAuthorizer;
  maxBodyBytes: number;
}): express.Router {
  const instantiator = new DeploymentConfigInstantiator(options.resources);
  const router = express.Router();
  router.post(
    `/apis/${APPS_GROUP}/v1/namespaces/:namespace/deploymentconfigs/:name/instantiate`,
    async (req: Request, res: Response) => {
      const namespace = param(req, 'namespace');
      const name = param(req, 'name');
      options.authorizer.authorize(res.locals.user as UserInfo, {
        verb: 'create',
        group: APPS_GROUP,
        resource: 'deploymentconfigs',
        subresource: 'instantiate',
        namespace,
        name,
      });
      const buf = await readBody(req, options.maxBodyBytes);
      const body =
        buf.toString('utf8').trim() === '' ? undefined : decodeObjectBody(buf, mediaType(req));
      const request = parseDeploymentRequest(body, name);
      const { created, dc } = await instantiator.instantiate(namespace, name, request);
      res.status(created ? 201 : 200).json(dc);
    },
  );
  return router;
}
