import type { Logger } from 'pino';
import { ApiError, isApiError } from '../../src/api/errors.js';
import { projectKind, projectRequestKind } from '../../src/api/kinds/index.js';
import { DESCRIPTION, DISPLAY_NAME, type Project } from '../../src/api/kinds/project.js';
import type { ApiObject } from '../../src/api/meta.js';
import { apiVersionOf } from '../../src/api/registry.js';
import { validateObject } from '../../src/api/validation.js';
import { assertRequestable } from '../admission/project-security.js';
import { isStoreError, type TxnOp } from '../store/types.js';
import { collectionPrefix, objectKey } from './keys.js';
import {
  timestamp,
  type DeleteOptions,
  type NamespaceLifecycle,
  type RequestContext,
  type ResourceStore,
} from './resources.js';
import { mapStoreErrors, toApiError } from './store-errors.js';

export const REQUESTER = 'openshift.io/requester';

/** Projects created at first start. */
export const BOOTSTRAP_PROJECTS: readonly (readonly [string, string])[] = [
  ['default', 'Objects without a project of their own, such as events about nodes'],
  ['openshift', 'Shared builder images and templates, readable by every project'],
  ['openshift-config', "Cluster settings, such as the builds' trusted CA bundle (user-ca-bundle)"],
  ['openshift-dns', 'The cluster DNS service, served by every node'],
];

/** Project names OpenShift keeps for the platform itself. */
const RESERVED_PREFIXES = ['openshift-', 'kube-'];

const FINISH_RETRIES = 16;

function isTerminating(project: ApiObject): boolean {
  const status = project.status as { phase?: string } | undefined;
  return project.metadata.deletionTimestamp !== undefined || status?.phase === 'Terminating';
}

/**
 * Projects: namespaces with a lifecycle.
 *
 * Deleting a project is two steps. First the project is marked Terminating (deletionTimestamp
 * and status.phase) in one write; from then on creates in its namespace are refused, and
 * creates already past that check are waited for (they are counted per namespace). Then one
 * store transaction deletes every object in the namespace together with the project, each at
 * the revision it was read at (a concurrent change makes the transaction fail and it is
 * redone). So the contents and the project disappear together, at consecutive revisions, and
 * no object can be left behind in a namespace that no longer exists. If the master dies
 * between the two steps the project stays visibly Terminating with its contents intact, and
 * the deletion is finished at the next start (`resumeTerminating`).
 */
export class Projects implements NamespaceLifecycle {
  private readonly resources: ResourceStore;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly inflight = new Map<string, number>();
  private readonly drained = new Map<string, (() => void)[]>();
  private readonly deletionOps: ((project: string) => Promise<TxnOp[]>)[] = [];

  constructor(resources: ResourceStore, logger: Logger, now: () => Date = () => new Date()) {
    this.resources = resources;
    this.logger = logger;
    this.now = now;
    resources.useNamespaceLifecycle(this);
    resources.registerHooks(projectKind, {
      prepareForCreate: (obj) => {
        obj.status = { phase: 'Active' };
      },
      delete: (name, options) => this.delete(name, options),
    });
  }

  /** More store ops for a project's deletion transaction (its UID reservation). */
  onDelete(ops: (project: string) => Promise<TxnOp[]>): void {
    this.deletionOps.push(ops);
  }

  private get store(): ResourceStore['store'] {
    return this.resources.store;
  }

  // -------------------------------------------------------------------------------------------
  // Creates inside a namespace

  async withNamespaceForCreate<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
    this.inflight.set(namespace, (this.inflight.get(namespace) ?? 0) + 1);
    try {
      const kv = await mapStoreErrors({ resource: 'namespaces', name: namespace }, () =>
        this.store.get(objectKey(projectKind, undefined, namespace)),
      );
      if (!kv) {
        throw new ApiError('NotFound', `namespaces "${namespace}" not found`, {
          details: { name: namespace, kind: 'namespaces' },
        });
      }
      if (isTerminating(this.resources.decode(kv))) {
        throw new ApiError(
          'Forbidden',
          `unable to create new content in namespace ${namespace} because it is being terminated`,
          { details: { name: namespace, kind: 'namespaces' } },
        );
      }
      return await fn();
    } finally {
      const left = (this.inflight.get(namespace) ?? 1) - 1;
      if (left > 0) this.inflight.set(namespace, left);
      else {
        this.inflight.delete(namespace);
        for (const wake of this.drained.get(namespace) ?? []) wake();
        this.drained.delete(namespace);
      }
    }
  }

  /** Resolves once no create in the namespace is in flight. */
  private drain(namespace: string): Promise<void> {
    if (!this.inflight.has(namespace)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.drained.get(namespace) ?? [];
      waiting.push(resolve);
      this.drained.set(namespace, waiting);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Project requests

  /** `new-project`: validates a ProjectRequest and creates the Project it asks for. */
  async request(body: unknown, ctx: RequestContext = {}): Promise<ApiObject> {
    const input = this.resources.resolveBody(projectRequestKind, body);
    const request = validateObject(projectRequestKind, input) as ApiObject & {
      displayName?: string;
      description?: string;
    };
    const name = request.metadata.name;
    if (!name) {
      throw ApiError.invalid(projectRequestKind.kind, '', [
        { field: 'metadata.name', message: 'Required value', reason: 'FieldValueRequired' },
      ]);
    }
    const reserved = RESERVED_PREFIXES.find((p) => name.startsWith(p));
    if (reserved) {
      throw new ApiError('Forbidden', `cannot request a project starting with "${reserved}"`, {
        details: { name, kind: 'projectrequests', group: projectKind.group },
      });
    }
    assertRequestable(name, request.metadata.annotations);
    const annotations: Record<string, string> = { ...request.metadata.annotations };
    if (request.displayName) annotations[DISPLAY_NAME] = request.displayName;
    if (request.description) annotations[DESCRIPTION] = request.description;
    if (ctx.user) annotations[REQUESTER] = ctx.user;
    const project: Project = {
      apiVersion: apiVersionOf(projectKind),
      kind: projectKind.kind,
      metadata: {
        name,
        ...(request.metadata.labels ? { labels: request.metadata.labels } : {}),
        annotations,
      },
    };
    return this.resources.create(projectKind, undefined, project, ctx);
  }

  // -------------------------------------------------------------------------------------------
  // Deletion

  async delete(name: string, options: DeleteOptions = {}): Promise<ApiObject> {
    const key = objectKey(projectKind, undefined, name);
    const ctx = this.resources.errorContext(projectKind, name);
    // Step 1: mark Terminating (unless it already is).
    for (let attempt = 0; ; attempt += 1) {
      const kv = await mapStoreErrors(ctx, () => this.store.get(key));
      if (!kv) throw this.resources.notFound(projectKind, name);
      this.resources.checkPreconditions(projectKind, kv, options);
      const project = this.resources.decode(kv);
      if (isTerminating(project)) break;
      const marked: ApiObject = {
        ...project,
        metadata: { ...project.metadata, deletionTimestamp: timestamp(this.now()) },
        status: { ...(project.status as object | undefined), phase: 'Terminating' },
      };
      try {
        await this.store.update(key, this.resources.encode(marked), kv.modRevision);
        break;
      } catch (err) {
        if (!isStoreError(err, 'Conflict') || attempt >= FINISH_RETRIES) {
          throw toApiError(err, ctx);
        }
      }
    }
    // Step 2: wait for creates that passed the check before the mark, then delete it all.
    await this.drain(name);
    return this.finish(name);
  }

  /** Deletes a Terminating project and everything in its namespace in one transaction. */
  private async finish(name: string): Promise<ApiObject> {
    const key = objectKey(projectKind, undefined, name);
    const ctx = this.resources.errorContext(projectKind, name);
    const namespaced = this.resources.registry.all().filter((d) => d.namespaced);
    for (let attempt = 0; ; attempt += 1) {
      const projectKv = await mapStoreErrors(ctx, () => this.store.get(key));
      if (!projectKv) throw this.resources.notFound(projectKind, name);
      const ops: TxnOp[] = [];
      for (const def of namespaced) {
        const listed = await mapStoreErrors(ctx, () =>
          this.store.list(collectionPrefix(def, name)),
        );
        for (const kv of listed.items)
          ops.push({ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision });
      }
      for (const more of this.deletionOps) ops.push(...(await more(name)));
      ops.push({ op: 'delete', key, expectedModRevision: projectKv.modRevision });
      try {
        const revision = await this.store.txn(ops);
        const project = this.resources.decode(projectKv);
        project.metadata.resourceVersion = String(revision);
        this.logger.info({ project: name, objects: ops.length - 1 }, 'project deleted');
        return project;
      } catch (err) {
        const retry =
          (isStoreError(err, 'Conflict') || isStoreError(err, 'NotFound')) &&
          attempt < FINISH_RETRIES;
        if (!retry) throw toApiError(err, ctx);
      }
    }
  }

  /**
   * Creates the projects every cluster has, as OpenShift does: `default` (where events about
   * cluster-scoped objects go), `openshift` (shared builder images and templates) and
   * `openshift-dns` (the cluster DNS Service).
   */
  async ensureBootstrap(): Promise<void> {
    for (const [name, description] of BOOTSTRAP_PROJECTS) {
      const existing = await this.store.get(objectKey(projectKind, undefined, name));
      if (existing) continue;
      const project: Project = {
        apiVersion: apiVersionOf(projectKind),
        kind: projectKind.kind,
        metadata: { name, annotations: { [DESCRIPTION]: description } },
      };
      try {
        await this.resources.create(projectKind, undefined, project, {});
        this.logger.info({ project: name }, 'created bootstrap project');
      } catch (err) {
        if (!isApiError(err, 'AlreadyExists')) throw err;
      }
    }
  }

  /** Finishes deletions a previous run started but did not complete. */
  async resumeTerminating(): Promise<void> {
    const listed = await this.store.list(collectionPrefix(projectKind));
    for (const kv of listed.items) {
      const project = this.resources.decode(kv);
      if (!isTerminating(project)) continue;
      const name = project.metadata.name ?? '';
      this.logger.info({ project: name }, 'finishing an interrupted project deletion');
      await this.finish(name);
    }
  }
}
