import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiError, isApiError, type Status } from '../../src/api/errors.js';
import { podKind, projectKind } from '../../src/api/kinds/index.js';
import { apiVersionOf, type KindRegistry, type Verb } from '../../src/api/registry.js';
import { parseWith } from '../../src/api/validation.js';
import {
  forbidden,
  POD_DELETION_CONFIRMATION,
  type RequestAttributes,
  type RuleAuthorizer,
} from '../auth/authorizer.js';
import type { TokenAuthenticator } from '../auth/tokens.js';
import type { UserInfo } from '../auth/user.js';
import { isStoreError } from '../store/types.js';
import { decodeObjectBody, decodePatchBody, MAX_BODY_BYTES, mediaType, readBody } from './body.js';
import { apiGroup, coreVersions, groupList, resourceList } from './discovery.js';
import type { Projects } from './projects.js';
import type { DeleteOptions, ResourceStore } from './resources.js';
import { bindPod, parseBinding } from './pod-binding.js';
import { createBuildServer, type BuildSettings } from './build-routes.js';
import { deploymentConfigRouter } from './deployment-config-instantiate.js';
import { redactWebhookPath } from './build-webhooks.js';
import { PodProxy } from './pod-proxy.js';
import { registryTokenRouter } from './registry-token.js';
import { parseRoute, type Route } from './routing.js';
import { toApiError } from './store-errors.js';
import { streamWatch, type ActiveWatches } from './watch-stream.js';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  platform: string;
  nodeVersion: string;
}

export interface AppOptions {
  registry: KindRegistry;
  resources: ResourceStore;
  projects: Projects;
  authenticator: TokenAuthenticator;
  authorizer: RuleAuthorizer;
  logger: Logger;
  version: VersionInfo;
  watches: ActiveWatches;
  /** Counts requests being served, for graceful shutdown. */
  inflight: { count: number };
  maxBodyBytes?: number;
  /** Upper bound (and default) for a watch's timeoutSeconds. */
  maxWatchSeconds?: number;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK. */
  bookmarkIntervalMs?: number;
  /** Signs the master's requests to node agents (pods/log, exec, portforward); see pod-proxy.ts. */
  joinToken?: string;
  /** Builds: where binary inputs are kept, their size limit, local git sources. */
  builds: BuildSettings;
}

const DEFAULT_MAX_WATCH_SECONDS = 30 * 60;
const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;

const deleteOptionsSchema = z.looseObject({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  preconditions: z
    .looseObject({ resourceVersion: z.string().optional(), uid: z.string().optional() })
    .optional(),
  gracePeriodSeconds: z.number().int().min(0).optional(),
  propagationPolicy: z.enum(['Orphan', 'Background', 'Foreground']).optional(),
});

function methodNotAllowed(detail?: string): ApiError {
  const base = 'the server does not allow this method on the requested resource';
  return new ApiError('MethodNotAllowed', detail ? `${base}: ${detail}` : base);
}

function query(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === 'string' ? first : undefined;
}

function booleanParam(req: Request, name: string): boolean {
  const value = query(req, name);
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw ApiError.badRequest(`invalid value for ${name}: "${value}" (expected true or false)`, [
    { field: name, message: `Invalid value: "${value}"`, reason: 'FieldValueInvalid' },
  ]);
}

function integerParam(req: Request, name: string): number | undefined {
  const value = query(req, name);
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]{1,9}$/.test(value)) {
    throw ApiError.badRequest(
      `invalid value for ${name}: "${value}" (expected a non-negative integer)`,
      [{ field: name, message: `Invalid value: "${value}"`, reason: 'FieldValueInvalid' }],
    );
  }
  return Number(value);
}

function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

function verbFor(method: string, name: string | undefined, watch: boolean): Verb {
  switch (method) {
    case 'GET':
      if (watch) return 'watch';
      return name === undefined ? 'list' : 'get';
    case 'POST':
      if (name === undefined) return 'create';
      break;
    case 'PUT':
      if (name !== undefined) return 'update';
      break;
    case 'PATCH':
      if (name !== undefined) return 'patch';
      break;
    case 'DELETE':
      if (name !== undefined) return 'delete';
      break;
  }
  throw methodNotAllowed(`${method} ${name === undefined ? 'on a collection' : 'on an object'}`);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function successStatus(message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message, code: 200 };
}

/**
 * The API server's HTTP surface: Kubernetes-style REST and watch for every kind in the
 * registry, discovery, version, the current user, and /healthz. Every error is a `Status`,
 * produced in one place (the error middleware at the end).
 */
export function createApp(options: AppOptions): express.Express {
  const { registry, resources, projects, authenticator, authorizer, logger, watches } = options;
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const maxWatchSeconds = options.maxWatchSeconds ?? DEFAULT_MAX_WATCH_SECONDS;
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS;

  const podProxy = new PodProxy({
    resources,
    authorizer,
    joinToken: options.joinToken,
    watches,
    logger,
  });

  const builds = createBuildServer({
    settings: options.builds,
    resources,
    projects,
    authorizer,
    podProxy,
    logger,
    maxBodyBytes: maxBody,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Request id, in-flight count, one log line per request (never headers: they hold tokens).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const id = randomUUID();
    res.locals.requestId = id;
    options.inflight.count += 1;
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      options.inflight.count -= 1;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const user = (res.locals.user as UserInfo | undefined)?.name;
      const entry = {
        reqId: id,
        method: req.method,
        path: redactWebhookPath(req.path),
        status: res.statusCode,
        ms,
        user,
      };
      if (res.statusCode >= 500) logger.error(entry, 'request failed');
      else logger.debug(entry, 'request');
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  });

  app.get(['/healthz', '/livez', '/readyz'], (_req: Request, res: Response) => {
    res.type('text/plain').send('ok');
  });

  // Build webhooks authenticate by the secret in their URL, not a bearer token.
  app.use(builds.webhooks);
  // The registry's token endpoint takes Basic credentials too (docker login).
  if (options.builds.registryTokens) {
    app.use(
      registryTokenRouter({
        issuer: options.builds.registryTokens,
        authenticator,
        authorizer,
        resources,
        clusterRegistry: options.builds.registry,
        logger: logger.child({ component: 'registry-tokens' }),
      }),
    );
  }

  app.use((req: Request, res: Response, next: NextFunction) => {
    const user = authenticator.authenticate(req.headers.authorization);
    if (!user) {
      next(new ApiError('Unauthorized', 'Unauthorized: a valid bearer token is required'));
      return;
    }
    res.locals.user = user;
    next();
  });

  const onlyGet = (req: Request): void => {
    if (req.method !== 'GET') throw methodNotAllowed(`${req.method}`);
  };

  const serveWatch = async (
    route: Extract<Route, { type: 'resource' }>,
    req: Request,
    res: Response,
  ): Promise<void> => {
    const { def, namespace, name } = route;
    const timeoutSeconds = integerParam(req, 'timeoutSeconds');
    const seconds = timeoutSeconds ? Math.min(timeoutSeconds, maxWatchSeconds) : maxWatchSeconds;
    const byName = name === undefined ? undefined : `metadata.name=${escapeFieldValue(name)}`;
    const fieldSelector = [byName, query(req, 'fieldSelector')].filter(Boolean).join(',');
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    watches.add(controller);
    res.on('close', onClose);
    try {
      const watch = await resources.watch(
        def,
        namespace,
        {
          resourceVersion: query(req, 'resourceVersion'),
          labelSelector: query(req, 'labelSelector'),
          fieldSelector: fieldSelector || undefined,
        },
        controller.signal,
      );
      await streamWatch(res, watch, controller, {
        timeoutMs: seconds * 1000,
        bookmarkIntervalMs: booleanParam(req, 'allowWatchBookmarks') ? bookmarkIntervalMs : 0,
        apiVersion: apiVersionOf(def),
        kind: def.kind,
        logger,
      });
    } finally {
      res.off('close', onClose);
      watches.delete(controller);
      controller.abort();
    }
  };

  /** DeleteOptions from the body, else `gracePeriodSeconds` from the query (as Kubernetes). */
  const readDeleteOptions = async (req: Request): Promise<DeleteOptions> => {
    const queryGrace = integerParam(req, 'gracePeriodSeconds');
    const fromQuery: DeleteOptions =
      queryGrace === undefined ? {} : { gracePeriodSeconds: queryGrace };
    const queryPolicy = query(req, 'propagationPolicy');
    if (queryPolicy !== undefined) {
      const policy = deleteOptionsSchema.shape.propagationPolicy.safeParse(queryPolicy);
      if (!policy.success) {
        throw ApiError.badRequest(
          `invalid propagationPolicy "${queryPolicy}": use Orphan, Background or Foreground`,
        );
      }
      fromQuery.propagationPolicy = policy.data;
    }
    if (!hasBody(req)) return fromQuery;
    const buf = await readBody(req, maxBody);
    if (buf.length === 0) return fromQuery;
    const parsed = parseWith(deleteOptionsSchema, decodeObjectBody(buf, mediaType(req)));
    if (!parsed.ok) {
      const summary = parsed.causes.map((c) => `${c.field}: ${c.message}`).join(', ');
      throw ApiError.badRequest(`invalid DeleteOptions: ${summary}`, parsed.causes);
    }
    const { preconditions, gracePeriodSeconds, propagationPolicy } = parsed.value;
    return {
      ...fromQuery,
      ...(preconditions ? { preconditions } : {}),
      ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
      ...(propagationPolicy === undefined ? {} : { propagationPolicy }),
    };
  };

  /**
   * A node may delete a pod only to confirm a graceful deletion under way, once the pod's
   * containers are gone: grace 0, the pod's uid as a precondition, and the pod terminating.
   */
  const deleteAsConfirmation = (
    attrs: RequestAttributes,
    options: DeleteOptions,
    user: UserInfo,
  ) => {
    if (options.gracePeriodSeconds !== 0 || !options.preconditions?.uid) {
      const refused = forbidden(user, attrs);
      throw new ApiError(
        'Forbidden',
        `${refused.message}; it may only confirm the deletion of a terminating pod (gracePeriodSeconds 0 and the pod's uid as a precondition)`,
        { details: refused.details },
      );
    }
    return { ...options, onlyTerminating: true };
  };

  /** `POST .../pods/NAME/binding`: the scheduler assigns a pod to a node (create on
   * `pods/binding`, as in Kubernetes RBAC). */
  const serveBinding = async (
    route: Extract<Route, { type: 'resource' }>,
    req: Request,
    res: Response,
    user: UserInfo,
  ): Promise<void> => {
    const { def, namespace, name } = route;
    if (req.method !== 'POST') throw methodNotAllowed(`${req.method} on ${def.plural}/binding`);
    authorizer.authorize(user, {
      verb: 'create',
      group: def.group,
      resource: def.plural,
      subresource: 'binding',
      namespace,
      name,
    });
    const body = decodeObjectBody(await readBody(req, maxBody), mediaType(req));
    const binding = parseBinding(body, namespace!, name!);
    await bindPod(resources, namespace!, name!, binding);
    res.status(201).json({ ...successStatus(''), code: 201 });
  };

  const serveResource = async (
    route: Extract<Route, { type: 'resource' }>,
    req: Request,
    res: Response,
    user: UserInfo,
  ): Promise<void> => {
    const { def, namespace, name, subresource } = route;
    if (subresource === 'binding') {
      await serveBinding(route, req, res, user);
      return;
    }
    if (subresource === 'log') {
      await podProxy.serveLog(route, req, res, user);
      return;
    }
    if (subresource === 'exec') {
      await podProxy.serveExec(route, req, res, user);
      return;
    }
    if (subresource === 'portforward') {
      await podProxy.servePortForward(route, req, res, user);
      return;
    }
    const watch = booleanParam(req, 'watch');
    const verb = verbFor(req.method, name, watch);
    if (subresource && verb !== 'get' && verb !== 'update' && verb !== 'patch') {
      throw methodNotAllowed(`${verb} on ${def.plural}/${subresource}`);
    }
    if (!def.verbs.includes(verb)) throw methodNotAllowed(`${def.plural} do not support ${verb}`);
    if (verb === 'create' && def.namespaced && namespace === undefined) {
      throw methodNotAllowed(
        `create ${def.plural} in a namespace: POST .../namespaces/NAMESPACE/${def.plural}`,
      );
    }
    const attrs: RequestAttributes = {
      verb,
      group: def.group,
      resource: def.plural,
      subresource,
      namespace,
      name,
    };
    const confirmsOnly =
      verb === 'delete' &&
      def === podKind &&
      subresource === undefined &&
      !authorizer.allows(user, attrs) &&
      authorizer.allows(user, { ...attrs, subresource: POD_DELETION_CONFIRMATION });
    if (!confirmsOnly) authorizer.authorize(user, attrs);
    const isProjectRequest = def.group === projectKind.group && def.plural === 'projectrequests';
    const ctx = { user: user.name, groups: user.groups };

    switch (verb) {
      case 'get':
        res.json(await resources.get(def, namespace, name!));
        return;
      case 'list':
        if (isProjectRequest) {
          res.json(successStatus('you may request a new project with a POST to this API'));
          return;
        }
        res.json(
          await resources.list(def, namespace, {
            labelSelector: query(req, 'labelSelector'),
            fieldSelector: query(req, 'fieldSelector'),
          }),
        );
        return;
      case 'watch':
        await serveWatch(route, req, res);
        return;
      case 'create': {
        const body = decodeObjectBody(await readBody(req, maxBody), mediaType(req));
        const created = isProjectRequest
          ? await projects.request(body, ctx)
          : await resources.create(def, namespace, body, ctx);
        res.status(201).json(created);
        return;
      }
      case 'update': {
        const body = decodeObjectBody(await readBody(req, maxBody), mediaType(req));
        res.json(await resources.update(def, namespace, name!, body, subresource, ctx));
        return;
      }
      case 'patch': {
        const { type, patch } = decodePatchBody(await readBody(req, maxBody), mediaType(req));
        res.json(await resources.patch(def, namespace, name!, type, patch, subresource, ctx));
        return;
      }
      case 'delete': {
        const options = await readDeleteOptions(req);
        res.json(
          await resources.delete(
            def,
            namespace,
            name!,
            confirmsOnly ? deleteAsConfirmation(attrs, options, user) : options,
          ),
        );
        return;
      }
    }
  };

  app.use(builds.routes);
  app.use(deploymentConfigRouter({ resources, authorizer, maxBodyBytes: maxBody }));

  app.use(async (req: Request, res: Response) => {
    const user = res.locals.user as UserInfo;
    const route = parseRoute(registry, req.path);
    switch (route.type) {
      case 'version':
        onlyGet(req);
        res.json(options.version);
        return;
      case 'discovery':
        onlyGet(req);
        res.json(route.path === 'groups' ? groupList(registry) : coreVersions());
        return;
      case 'discovery-group':
        onlyGet(req);
        res.json(apiGroup(registry, route.group));
        return;
      case 'discovery-resources':
        onlyGet(req);
        res.json(resourceList(registry, route.group, route.version));
        return;
      case 'current-user':
        onlyGet(req);
        res.json({
          kind: 'User',
          apiVersion: 'user.openshift.io/v1',
          metadata: { name: user.name },
          groups: user.groups,
        });
        return;
      case 'resource':
        await serveResource(route, req, res, user);
        return;
    }
  });

  // The one place errors become responses.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiError: ApiError;
    if (isApiError(err)) apiError = err;
    else if (isStoreError(err)) apiError = toApiError(err, { resource: 'objects' }) as ApiError;
    else {
      const id = res.locals.requestId as string | undefined;
      logger.error(
        { err, reqId: id, method: req.method, path: redactWebhookPath(req.path) },
        'unexpected error',
      );
      apiError = new ApiError(
        'InternalError',
        `Internal error occurred: an unexpected error happened while serving the request (request id ${id ?? '?'})`,
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status: Status = apiError.toStatus();
    if (status.code === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="slipway"');
    // An unread request body cannot be skipped reliably: close the connection after answering.
    if (!req.complete) res.setHeader('Connection', 'close');
    res.status(status.code).json(status);
  });

  return app;
}
