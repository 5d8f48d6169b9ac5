/**
 * The cluster registry's token endpoint, `GET /openshift/token`, as Docker's token protocol
 * and OpenShift's registry define it: the client (dockerd, `docker login`, the agent) sends its
 * Slipway token, as the password of Basic credentials (`docker login -u any -p TOKEN`) or as a
 * bearer token, with `service` and one or more `scope`s; the answer is a signed registry token
 * granting the part of those scopes the user may have:
 *
 * - `pull` on `repository:PROJECT/NAME` needs `get` on `imagestreams/layers` in PROJECT,
 *   `push` needs `update`, `delete` needs `delete` (OpenShift's resource and verbs);
 * - a node agent pulls any project's images (it runs their pods) but pushes only to the
 *   repository a build of that project is running to output, so a node cannot write where no
 *   build of the repository's own project is under way, and no project's build can write into
 *   another project's repositories;
 * - `registry:catalog:*` needs `list` on image streams in every project.
 *
 * Without credentials, or with a token the master does not know, the answer is 401: the
 * registry accepts no anonymous pull or push. Scopes not granted are left out of the token
 * (the registry then refuses the request), as Distribution's token servers do.
 *
 * `GET /openshift/registry` tells an authenticated client where the cluster registry is and
 * which service its tokens name, so agents know which images to ask tokens for.
 */
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { buildKind, type Build } from '../../src/api/index.js';
import {
  CLUSTER_REGISTRY_PATH,
  clusterRepository,
  REGISTRY_TOKEN_PATH,
  type ClusterRegistryInfo,
  parseScopes,
  type RegistryAccess,
} from '../../src/api/registry-scope.js';
import type { RuleAuthorizer } from '../auth/authorizer.js';
import type { RegistryTokenIssuer } from '../auth/registry-tokens.js';
import type { TokenAuthenticator } from '../auth/tokens.js';
import { NODE_BOOTSTRAPPERS_GROUP, type UserInfo } from '../auth/user.js';
import type { ResourceStore } from './resources.js';

export interface RegistryTokenOptions {
  issuer: RegistryTokenIssuer;
  authenticator: TokenAuthenticator;
  authorizer: RuleAuthorizer;
  resources: ResourceStore;
  /** The cluster registry's address (`host:port`); build outputs are matched against it. */
  clusterRegistry: string | undefined;
  logger: Logger;
}

const ACTION_VERBS = { pull: 'get', push: 'update', delete: 'delete' } as const;
type Action = keyof typeof ACTION_VERBS;
/** A repository name the cluster registry serves: PROJECT/NAME. */
const REPOSITORY = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)$/;
/** Build phases in which a build may still push its output. */
const PUSHING_PHASES = new Set(['New', 'Pending', 'Running']);

function tokenError(res: Response, status: number, code: string, message: string): void {
  if (status === 401) res.set('WWW-Authenticate', 'Basic realm="slipway"');
  res.status(status).json({ errors: [{ code, message }] });
}

/** The Slipway token a request carries: Basic's password, or the bearer token. */
function presentedToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return bearer?.[1];
}

function queryValues(req: Request, name: string): string[] {
  const value = (req.query as Record<string, unknown>)[name];
  const all = Array.isArray(value) ? value : [value];
  return all.filter((v): v is string => typeof v === 'string');
}

/** Decides what a user may do in the cluster registry. */
export class RegistryAccessPolicy {
  readonly #authorizer: RuleAuthorizer;
  readonly #resources: ResourceStore;
  readonly #clusterRegistry: string | undefined;

  constructor(options: Pick<RegistryTokenOptions, 'authorizer' | 'resources' | 'clusterRegistry'>) {
    this.#authorizer = options.authorizer;
    this.#resources = options.resources;
    this.#clusterRegistry = options.clusterRegistry;
  }

  /** The part of `requested` that `user` may have. */
  async grant(user: UserInfo, requested: readonly RegistryAccess[]): Promise<RegistryAccess[]> {
    const granted: RegistryAccess[] = [];
    for (const want of requested) {
      if (want.type === 'registry') {
        const catalog =
          want.name === 'catalog' &&
          this.#authorizer.allows(user, {
            verb: 'list',
            group: 'image.openshift.io',
            resource: 'imagestreams',
          });
        if (catalog) granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        continue;
      }
      const m = want.type === 'repository' ? REPOSITORY.exec(want.name) : null;
      if (!m) continue;
      const [, namespace, name] = m as unknown as [string, string, string];
      const wanted = new Set<Action>();
      for (const action of want.actions) {
        if (action === '*') Object.keys(ACTION_VERBS).forEach((a) => wanted.add(a as Action));
        else if (action in ACTION_VERBS) wanted.add(action as Action);
      }
      const actions: Action[] = [];
      for (const action of wanted) {
        const allowed =
          this.#authorizer.allows(user, {
            verb: ACTION_VERBS[action],
            group: 'image.openshift.io',
            resource: 'imagestreams',
            subresource: 'layers',
            namespace,
            name,
          }) ||
          (action === 'push' &&
            user.groups.includes(NODE_BOOTSTRAPPERS_GROUP) &&
            (await this.#buildOutputsTo(namespace, want.name)));
        if (allowed) actions.push(action);
      }
      if (actions.length > 0) granted.push({ type: 'repository', name: want.name, actions });
    }
    return granted;
  }

  /** True when a build of `namespace` that may still push outputs to `repository`. */
  async #buildOutputsTo(namespace: string, repository: string): Promise<boolean> {
    const registry = this.#clusterRegistry;
    if (!registry) return false;
    const builds = await this.#resources.list(buildKind, namespace);
    return (builds.items as Build[]).some(
      (b) =>
        PUSHING_PHASES.has(b.status?.phase ?? 'New') &&
        clusterRepository(b.status?.outputDockerImageReference ?? '', registry) === repository,
    );
  }
}

/** The token endpoint and the cluster registry's address, mounted before bearer-token auth. */
export function registryTokenRouter(options: RegistryTokenOptions): express.Router {
  const { issuer, authenticator, logger } = options;
  const policy = new RegistryAccessPolicy(options);
  const router = express.Router();

  const authenticate = (req: Request, res: Response): UserInfo | undefined => {
    const token = presentedToken(req.headers.authorization);
    const user = token ? authenticator.authenticate(`Bearer ${token}`) : undefined;
    if (!user) {
      tokenError(
        res,
        401,
        'UNAUTHORIZED',
        token
          ? 'the token is not valid; log in again (slipway login) and use slipway whoami -t'
          : 'authentication required: use a Slipway token as the password (docker login -u USER -p "$(slipway whoami -t)")',
      );
    }
    return user;
  };

  router.get(REGISTRY_TOKEN_PATH, async (req: Request, res: Response) => {
    const user = authenticate(req, res);
    if (!user) return;
    const service = queryValues(req, 'service')[0];
    if (service !== undefined && service !== issuer.service) {
      tokenError(
        res,
        400,
        'INVALID_REQUEST',
        `unknown service "${service}": this endpoint issues tokens for "${issuer.service}"`,
      );
      return;
    }
    const requested = parseScopes(queryValues(req, 'scope'));
    const access = await policy.grant(user, requested);
    const issued = await issuer.issue(user.name, access);
    logger.debug(
      {
        user: user.name,
        requested: requested.length,
        granted: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`),
      },
      'registry token issued',
    );
    res.set('Cache-Control', 'no-store');
    res.json({
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
    });
  });

  router.get(CLUSTER_REGISTRY_PATH, (req: Request, res: Response) => {
    if (!authenticate(req, res)) return;
    if (!options.clusterRegistry) {
      tokenError(res, 404, 'NOT_FOUND', 'this cluster has no registry');
      return;
    }
    const info: ClusterRegistryInfo = {
      address: options.clusterRegistry,
      service: issuer.service,
    };
    res.json(info);
  });

  return router;
}
