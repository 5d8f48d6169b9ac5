/**
 * The build and image subresources beyond plain REST, mounted after authentication:
 * - `POST .../buildconfigs/NAME/instantiate` (BuildRequest) -> 201 and the new Build
 *   (RBAC `create` on `buildconfigs/instantiate`);
 * - `POST .../buildconfigs/NAME/instantiatebinary[?asFile=F]` with the archive as the body
 *   (`create` on `buildconfigs/instantiatebinary`), optional `revision.commit`,
 *   `revision.message`, `revision.authorName`, `revision.authorEmail`,
 *   `revision.committerName`, `revision.committerEmail`;
 * - `GET .../builds/NAME/log` (`get` on `builds/log`): the build pod's log, through the pod
 *   log proxy (follow, previous, tailLines, timestamps, sinceSeconds as for pods);
 * - `GET .../builds/NAME/source` (`get` on `builds/source`): the binary input, for nodes;
 * - `POST .../builds/NAME/clone` (`create` on `builds/clone`);
 * - `imagestreamtags` (virtual, see image-stream-tags.ts);
 * - `POST .../imagestreamimports` (create only, see image-imports.ts): images looked up in their
 *   registries, and with `spec.import` recorded in the stream (`create` and `update` on
 *   `imagestreams` too).
 */
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { ApiError, isApiError } from '../../src/api/errors.js';
import { buildConfigKind, buildKind } from '../../src/api/kinds/index.js';
import { buildPodName, type Build } from '../../src/api/kinds/build.js';
import { isPlainFileName, type GitRevision } from '../../src/api/kinds/build-spec.js';
import type { RequestAttributes, RuleAuthorizer } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/user.js';
import { decodeObjectBody, mediaType, readBody } from './body.js';
import {
  BuildInstantiator,
  parseBuildRequest,
  type BuildInstantiatorOptions,
  type BuildRequest,
} from './build-instantiate.js';
import { BuildSources } from './build-source.js';
import { buildWebhookRouter } from './build-webhooks.js';
import { ImageStreamTags } from './image-stream-tags.js';
import { ImageImports } from './image-imports.js';
import { RegistryClient } from '../images/registry-client.js';
import { MASTER_REGISTRY_SUBJECT, type RegistryTokenIssuer } from '../auth/registry-tokens.js';
import type { PodProxy } from './pod-proxy.js';
import type { ResourceStore } from './resources.js';

export interface BuildRoutesOptions {
  resources: ResourceStore;
  authorizer: RuleAuthorizer;
  instantiator: BuildInstantiator;
  sources: BuildSources;
  podProxy: Pick<PodProxy, 'streamLog'>;
  logger: Logger;
  maxBodyBytes: number;
  /** Looks images up for imagestreamimports. */
  registryClient: RegistryClient;
  /** Registries imports may read; undefined: any. */
  allowedRegistriesForImport?: readonly string[] | undefined;
  clusterRegistry?: string | undefined;
  /** A pull token for a repository of the cluster registry (imports from it). */
  clusterRegistryToken?: ((repository: string) => Promise<string>) | undefined;
}

const BUILDS = '/apis/build.openshift.io/v1/namespaces/:namespace';
const IMAGES = '/apis/image.openshift.io/v1';
const BUILD_GROUP = 'build.openshift.io';
const IMAGE_GROUP = 'image.openshift.io';

function param(req: Request, name: string): string {
  return (req.params as Record<string, string | undefined>)[name] ?? '';
}

function queryOf(req: Request): URLSearchParams {
  return new URL(req.originalUrl, 'http://master').searchParams;
}

function methodNotAllowed(what: string): ApiError {
  return new ApiError(
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource: ${what}`,
  );
}

async function readBuildRequest(req: Request, name: string, limit: number): Promise<BuildRequest> {
  const buf = await readBody(req, limit);
  if (buf.toString('utf8').trim() === '') return {};
  return parseBuildRequest(decodeObjectBody(buf, mediaType(req)), name);
}

/** `revision.*` query parameters of instantiatebinary, as `oc start-build` sends them. */
function binaryRevision(query: URLSearchParams): GitRevision | undefined {
  const get = (key: string): string | undefined => query.get(`revision.${key}`) || undefined;
  const commit = get('commit');
  const message = get('message');
  const author = { name: get('authorName'), email: get('authorEmail') };
  const committer = { name: get('committerName'), email: get('committerEmail') };
  const person = (p: { name?: string | undefined; email?: string | undefined }) =>
    p.name || p.email
      ? { ...(p.name ? { name: p.name } : {}), ...(p.email ? { email: p.email } : {}) }
      : undefined;
  const revision: GitRevision = {
    ...(commit ? { commit } : {}),
    ...(message ? { message } : {}),
    ...(person(author) ? { author: person(author) } : {}),
    ...(person(committer) ? { committer: person(committer) } : {}),
  };
  return Object.keys(revision).length > 0 ? revision : undefined;
}

export function buildRouter(options: BuildRoutesOptions): express.Router {
  const { resources, authorizer, instantiator, sources, podProxy } = options;
  const log = options.logger.child({ component: 'build-routes' });
  const istags = new ImageStreamTags(resources);
  const imports = new ImageImports(resources, options.registryClient, {
    allowedRegistries: options.allowedRegistriesForImport,
    clusterRegistry: options.clusterRegistry,
    clusterRegistryToken: options.clusterRegistryToken,
  });
  const router = express.Router();

  const authorize = (res: Response, attrs: RequestAttributes): UserInfo => {
    const user = res.locals.user as UserInfo;
    authorizer.authorize(user, attrs);
    return user;
  };

  /** The request's namespace and name, once its user may `verb` the build subresource. */
  const authorizeSubresource = (
    req: Request,
    res: Response,
    verb: RequestAttributes['verb'],
    resource: 'buildconfigs' | 'builds',
    subresource: string,
  ): { namespace: string; name: string } => {
    const namespace = param(req, 'namespace');
    const name = param(req, 'name');
    authorize(res, { verb, group: BUILD_GROUP, resource, subresource, namespace, name });
    return { namespace, name };
  };

  const getBuild = async (namespace: string, name: string): Promise<Build> =>
    (await resources.get(buildKind, namespace, name)) as Build;

  router.post(`${BUILDS}/buildconfigs/:name/instantiate`, async (req: Request, res: Response) => {
    const { namespace, name } = authorizeSubresource(
      req,
      res,
      'create',
      'buildconfigs',
      'instantiate',
    );
    const request = await readBuildRequest(req, name, options.maxBodyBytes);
    res.status(201).json(await instantiator.instantiate(namespace, name, request));
  });

  router.post(
    `${BUILDS}/buildconfigs/:name/instantiatebinary`,
    async (req: Request, res: Response) => {
      const { namespace, name } = authorizeSubresource(
        req,
        res,
        'create',
        'buildconfigs',
        'instantiatebinary',
      );
      const query = queryOf(req);
      const asFile = query.get('asFile') || undefined;
      if (asFile !== undefined && (!isPlainFileName(asFile) || Buffer.byteLength(asFile) > 100)) {
        throw ApiError.badRequest(
          `invalid asFile ${JSON.stringify(asFile)}: a file name without path separators, at most 100 bytes`,
          [{ field: 'asFile', message: 'Invalid value', reason: 'FieldValueInvalid' }],
        );
      }
      // Refuse before reading a large body when there is nothing to build.
      await resources.get(buildConfigKind, namespace, name);
      const revision = binaryRevision(query);
      const upload = await sources.receive(req, asFile);
      try {
        const build = await instantiator.instantiate(
          namespace,
          name,
          {
            triggeredBy: [{ message: 'Manually triggered' }],
            ...(revision ? { revision: { type: 'Git', git: revision } } : {}),
          },
          {
            binary: { asFile },
            beforeCommit: (b) =>
              upload.place(namespace, b.metadata.name ?? '', b.metadata.uid ?? ''),
            onAbort: (b) => upload.unplace(namespace, b.metadata.name ?? '', b.metadata.uid ?? ''),
          },
        );
        log.info(
          { namespace, build: build.metadata.name, bytes: upload.size },
          'binary build input stored',
        );
        res.status(201).json(build);
      } finally {
        await upload.discard();
      }
      sources
        .sweep(async (ns, build, uid) => {
          try {
            return (await getBuild(ns, build)).metadata.uid === uid;
          } catch (err) {
            if (isApiError(err, 'NotFound')) return false;
            throw err;
          }
        })
        .catch((err: unknown) => log.warn({ err }, 'sweeping source archives failed'));
    },
  );

  router.get(`${BUILDS}/builds/:name/log`, async (req: Request, res: Response) => {
    const { namespace, name } = authorizeSubresource(req, res, 'get', 'builds', 'log');
    const build = await getBuild(namespace, name);
    const phase = build.status?.phase ?? 'New';
    if (phase === 'New') {
      const why = build.status?.message ? `: ${build.status.message}` : '';
      throw ApiError.badRequest(`build ${name} has not started yet (phase New)${why}`);
    }
    await podProxy.streamLog(namespace, buildPodName(name), req, res);
  });

  router.get(`${BUILDS}/builds/:name/source`, async (req: Request, res: Response) => {
    const { namespace, name } = authorizeSubresource(req, res, 'get', 'builds', 'source');
    const build = await getBuild(namespace, name);
    const notFound = (message: string): ApiError =>
      new ApiError('NotFound', message, {
        details: { name, group: BUILD_GROUP, kind: 'builds/source' },
      });
    if (!build.spec.source?.binary) throw notFound(`build "${name}" has no binary input`);
    const archive = await sources.open(namespace, name, build.metadata.uid ?? '');
    if (!archive) throw notFound(`the binary input of build "${name}" has not been uploaded`);
    res.status(200);
    res.setHeader('Content-Type', 'application/gzip');
    res.setHeader('Content-Length', String(archive.size));
    res.setHeader('Cache-Control', 'no-store');
    try {
      await pipeline(archive.stream, res);
    } catch {
      res.destroy();
    }
  });

  router.post(`${BUILDS}/builds/:name/clone`, async (req: Request, res: Response) => {
    const { namespace, name } = authorizeSubresource(req, res, 'create', 'builds', 'clone');
    const request = await readBuildRequest(req, name, options.maxBodyBytes);
    res.status(201).json(await instantiator.clone(namespace, name, request));
  });

  // ImageStreamTag: virtual, computed from image streams.
  const istagAttrs = (verb: RequestAttributes['verb'], namespace?: string, name?: string) => ({
    verb,
    group: IMAGE_GROUP,
    resource: 'imagestreamtags',
    namespace,
    name,
  });
  /** The request's object and who sends it, for a write. */
  const writeRequest = async (req: Request, user: UserInfo) => ({
    body: decodeObjectBody(await readBody(req, options.maxBodyBytes), mediaType(req)),
    ctx: { user: user.name, groups: user.groups },
  });
  const refuseWatch = (req: Request): void => {
    const watch = queryOf(req).get('watch');
    if (watch === 'true' || watch === '1')
      throw methodNotAllowed('imagestreamtags cannot be watched');
  };

  router.all(`${IMAGES}/imagestreamtags`, async (req: Request, res: Response) => {
    if (req.method !== 'GET') throw methodNotAllowed(`${req.method} on imagestreamtags`);
    refuseWatch(req);
    authorize(res, istagAttrs('list'));
    res.json(await istags.list(undefined));
  });

  router.all(
    `${IMAGES}/namespaces/:namespace/imagestreamtags`,
    async (req: Request, res: Response) => {
      const namespace = param(req, 'namespace');
      if (req.method === 'GET') {
        refuseWatch(req);
        authorize(res, istagAttrs('list', namespace));
        res.json(await istags.list(namespace));
        return;
      }
      if (req.method !== 'POST') throw methodNotAllowed(`${req.method} on imagestreamtags`);
      const user = authorize(res, istagAttrs('create', namespace));
      const { body, ctx } = await writeRequest(req, user);
      res.status(201).json(await istags.put(namespace, undefined, body, true, ctx));
    },
  );

  router.all(
    `${IMAGES}/namespaces/:namespace/imagestreamtags/:name`,
    async (req: Request, res: Response) => {
      const namespace = param(req, 'namespace');
      const name = param(req, 'name');
      switch (req.method) {
        case 'GET':
          refuseWatch(req);
          authorize(res, istagAttrs('get', namespace, name));
          res.json(await istags.get(namespace, name));
          return;
        case 'PUT': {
          const user = authorize(res, istagAttrs('update', namespace, name));
          const { body, ctx } = await writeRequest(req, user);
          res.json(await istags.put(namespace, name, body, false, ctx));
          return;
        }
        case 'DELETE':
          authorize(res, istagAttrs('delete', namespace, name));
          res.json(await istags.delete(namespace, name));
          return;
        default:
          throw methodNotAllowed(`${req.method} on imagestreamtags`);
      }
    },
  );

  router.all(
    `${IMAGES}/namespaces/:namespace/imagestreamimports`,
    async (req: Request, res: Response) => {
      if (req.method !== 'POST') throw methodNotAllowed(`${req.method} on imagestreamimports`);
      const namespace = param(req, 'namespace');
      const user = authorize(res, {
        verb: 'create',
        group: IMAGE_GROUP,
        resource: 'imagestreamimports',
        namespace,
      });
      const { body, ctx } = await writeRequest(req, user);
      const mayImport = (): void => {
        for (const verb of ['create', 'update'] as const) {
          authorizer.authorize(user, {
            verb,
            group: IMAGE_GROUP,
            resource: 'imagestreams',
            namespace,
          });
        }
      };
      // A lookup can take a while: stop it when the client goes away.
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      res.status(201).json(await imports.create(namespace, body, ctx, mayImport, gone.signal));
    },
  );

  return router;
}

/** What the master's configuration says about builds. */
export interface BuildSettings {
  dataDir: string;
  binaryBuildMaxBytes: number;
  allowFileGitSources: boolean;
  /** The cluster's registry (`HOST:PORT`), spoken to over plain HTTP by image imports. */
  registry?: string | undefined;
  /** Registries image imports may read besides the cluster's; undefined: any. */
  allowedRegistriesForImport?: readonly string[] | undefined;
  /** Signs pull tokens for imports from the cluster registry (absent: reads it anonymously). */
  registryTokens?: RegistryTokenIssuer | undefined;
}

/** The master's own pull of one repository of the cluster registry (an import reading it). */
function pullToken(issuer: RegistryTokenIssuer): (repository: string) => Promise<string> {
  return async (repository) =>
    (
      await issuer.issue(MASTER_REGISTRY_SUBJECT, [
        { type: 'repository', name: repository, actions: ['pull'] },
      ])
    ).token;
}

/**
 * The build endpoints of the API server: `webhooks` (mount before authentication) and
 * `routes` (after it, before the generic REST handler).
 */
export function createBuildServer(options: {
  settings: BuildSettings;
  resources: ResourceStore;
  projects: BuildInstantiatorOptions['projects'];
  authorizer: RuleAuthorizer;
  podProxy: Pick<PodProxy, 'streamLog'>;
  logger: Logger;
  maxBodyBytes: number;
}): { webhooks: express.Router; routes: express.Router } {
  const { settings, resources, logger } = options;
  const instantiator = new BuildInstantiator({
    resources,
    projects: options.projects,
    allowFileGitSources: settings.allowFileGitSources,
  });
  const sources = new BuildSources({
    dataDir: settings.dataDir,
    maxBytes: settings.binaryBuildMaxBytes,
    logger,
  });
  return {
    webhooks: buildWebhookRouter({ resources, instantiator, logger }),
    routes: buildRouter({
      resources,
      authorizer: options.authorizer,
      instantiator,
      sources,
      podProxy: options.podProxy,
      logger,
      maxBodyBytes: options.maxBodyBytes,
      registryClient: new RegistryClient({
        insecureRegistries: settings.registry ? [settings.registry] : [],
      }),
      allowedRegistriesForImport: settings.allowedRegistriesForImport,
      clusterRegistry: settings.registry,
      clusterRegistryToken: settings.registryTokens
        ? pullToken(settings.registryTokens)
        : undefined,
    }),
  };
}
