import { randomInt, randomUUID } from 'node:crypto';
import { ApiError } from '../../src/api/errors.js';
import { applyMergePatch, jsonEqual } from '../../src/api/merge-patch.js';
import {
  applyStrategicMergePatch,
  strategicSchemaFor,
} from '../../src/api/strategic-merge-patch.js';
import type { ApiList, ApiObject, WatchEvent } from '../../src/api/meta.js';
import { DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN_MAX } from '../../src/api/names.js';
import { apiVersionOf, type AnyKindDefinition, type KindRegistry } from '../../src/api/registry.js';
import { objectMatcher } from '../../src/api/selectors.js';
import { validateName, validateObject } from '../../src/api/validation.js';
import {
  StoreError,
  type KeyValue,
  type Store,
  type StoreEvent,
  type TxnOp,
} from '../store/types.js';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';
import { collectionPrefix, objectKey, qualifiedResource } from './keys.js';
import { mapStoreErrors, toApiError, type ErrorContext } from './store-errors.js';

export type PatchType = 'merge' | 'strategic' | 'json';

export interface ListOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
}

export interface WatchOptions extends ListOptions {
  /** Events after this revision; unset or "0": the current state as ADDED events, then changes. */
  resourceVersion?: string | undefined;
}

export interface DeleteOptions {
  preconditions?: { resourceVersion?: string | undefined; uid?: string | undefined } | undefined;
  /** Seconds the object gets to terminate (kinds with graceful deletion); 0: delete at once. */
  gracePeriodSeconds?: number | undefined;
  /** Only finish a graceful deletion already under way (a node confirming that a pod's
   * containers are gone): an object that is not terminating is refused with 403. */
  onlyTerminating?: boolean | undefined;
  /** `Orphan`: the object's uid is first removed from its dependents' ownerReferences, so the
   * garbage collector leaves them. `Background` (the default) and `Foreground` delete the object
   * now and leave its dependents to the garbage collector. */
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground' | undefined;
}

/** The request context that server-side defaults may use. */
export interface RequestContext {
  user?: string | undefined;
  /** The user's groups; admission checks them for cluster administrators. */
  groups?: readonly string[] | undefined;
}

/** Guards creates in a namespace: the project must exist and not be terminating. */
export interface NamespaceLifecycle {
  withNamespaceForCreate<T>(namespace: string, fn: () => Promise<T>): Promise<T>;
}

/** Per-kind behaviour beyond the generic rules. */
export interface KindHooks {
  /** Server-owned defaults applied to a validated object before it is first stored. */
  prepareForCreate?: (obj: ApiObject) => void;
  /**
   * Admission of a create (master/admission), inside the namespace's lifecycle guard, on the
   * object as it will be stored: may change it, refuse it (throw an ApiError), or return store
   * ops to commit in the same transaction (a reservation). When one of those ops fails with
   * KeyExists (someone took the reservation first) admission runs again.
   */
  admitCreate?: (obj: ApiObject, ctx: RequestContext) => Promise<TxnOp[] | undefined>;
  /** Admission of a client update or patch (not /status, not server-internal writes): may
   * change the validated `next` or refuse it. */
  admitUpdate?: (current: ApiObject, next: ApiObject, ctx: RequestContext) => void;
  /**
   * After admitUpdate, for any write but /status: may change `next` and return store ops to
   * commit in the same transaction as the update (reservations taken or given up). When one
   * of those ops fails (someone took the reservation first) the update runs again.
   */
  updateOps?: (current: ApiObject, next: ApiObject) => Promise<TxnOp[]>;
  /** Replaces the generic delete (projects delete their contents). */
  delete?: (name: string, options: DeleteOptions) => Promise<ApiObject>;
  /** Store ops to commit in the same transaction as the object's final deletion (freeing a
   * reservation admission made). */
  deleteOps?: (obj: ApiObject) => Promise<TxnOp[]>;
  /**
   * Graceful deletion (Kubernetes' RESTGracefulDeleteStrategy): the seconds a stored object
   * gets to terminate when deleted, given the grace period the request asked for. Above 0 the
   * DELETE only marks it (deletionTimestamp = now + grace, deletionGracePeriodSeconds) and
   * whoever runs it confirms with a DELETE of grace 0; 0 deletes at once. Kinds without it are
   * always deleted at once.
   */
  gracePeriod?: (obj: ApiObject, requested: number | undefined) => number;
}

/** A watch over API objects: iterate for events; `progress()` is the revision through which
 * every change has been delivered (undefined until the initial state is out), for bookmarks. */
export interface ObjectWatch extends AsyncIterable<WatchEvent> {
  progress(): number | undefined;
}

/** Each conflict means another write succeeded, so retrying cannot livelock; the cap is a guard. */
const UPDATE_RETRIES = 1000;
const GENERATE_NAME_RETRIES = 8;
/** A graceful delete re-reads after a concurrent write; each conflict means another write won. */
const DELETE_RETRIES = 1000;
/** Admission reservations lost to concurrent creates; each loss means another create won. */
const ADMISSION_RETRIES = 1000;
const GENERATED_SUFFIX = 5;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 3339 at second precision, as Kubernetes writes timestamps. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withoutResourceVersion(obj: ApiObject): ApiObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Everything but metadata and status: what a change to bumps `metadata.generation`. */
function specOf(obj: ApiObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

function badField(message: string, field: string, detail: string): ApiError {
  return ApiError.badRequest(message, [{ field, message: detail, reason: 'FieldValueInvalid' }]);
}

/**
 * API objects on top of the revisioned store: validation, server-owned metadata,
 * optimistic concurrency, status subresource rules, patches, selectors and watch.
 */
export class ResourceStore {
  readonly store: Store;
  readonly registry: KindRegistry;
  private readonly now: () => Date;
  private readonly hooks = new Map<AnyKindDefinition, KindHooks>();
  private namespaces: NamespaceLifecycle | undefined;

  constructor(options: { store: Store; registry: KindRegistry; now?: () => Date }) {
    this.store = options.store;
    this.registry = options.registry;
    this.now = options.now ?? (() => new Date());
  }

  registerHooks(def: AnyKindDefinition, hooks: KindHooks): void {
    this.hooks.set(def, { ...this.hooks.get(def), ...hooks });
  }

  useNamespaceLifecycle(lifecycle: NamespaceLifecycle): void {
    this.namespaces = lifecycle;
  }

  // -------------------------------------------------------------------------------------------
  // Encoding

  /** A stored value as an API object; resourceVersion is the key's modRevision. */
  decode(kv: KeyValue): ApiObject {
    const obj = JSON.parse(kv.value) as ApiObject;
    obj.metadata = { ...obj.metadata, resourceVersion: String(kv.modRevision) };
    return obj;
  }

  encode(obj: ApiObject): string {
    return JSON.stringify(withoutResourceVersion(obj));
  }

  errorContext(def: AnyKindDefinition, name?: string): ErrorContext {
    return { resource: qualifiedResource(def), ...(name === undefined ? {} : { name }) };
  }

  /**
   * Checks a request body's apiVersion and kind against the URL's resource. A body naming
   * neither gets the URL's; one naming another kind is refused.
   */
  resolveBody(def: AnyKindDefinition, body: unknown): Record<string, unknown> {
    if (!isPlainObject(body)) {
      throw ApiError.badRequest('the request body must be a JSON or YAML object (a mapping)', [
        { message: 'the object must be a mapping', reason: 'FieldValueInvalid' },
      ]);
    }
    const out = { ...body };
    if (out.apiVersion === undefined && out.kind === undefined) {
      out.apiVersion = apiVersionOf(def);
      out.kind = def.kind;
    }
    for (const field of ['apiVersion', 'kind'] as const) {
      if (typeof out[field] !== 'string' || out[field] === '') {
        const detail =
          out[field] === undefined ? 'Required value' : 'Invalid value: must be a non-empty string';
        throw badField(`${field}: ${detail}`, field, detail);
      }
    }
    const apiVersion = out.apiVersion as string;
    const kind = out.kind as string;
    const bodyDef = this.registry.forObject(apiVersion, kind);
    if (!bodyDef) {
      throw badField(
        `no kind "${kind}" is registered for version "${apiVersion}"`,
        'kind',
        `Unsupported value: "${kind}" in "${apiVersion}"`,
      );
    }
    if (bodyDef !== def) {
      throw badField(
        `the kind in the body (${apiVersion} ${kind}) does not match the resource in the URL (${qualifiedResource(def)})`,
        'kind',
        `Invalid value: "${kind}": expected "${def.kind}"`,
      );
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async get(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
  ): Promise<ApiObject> {
    const kv = await mapStoreErrors(this.errorContext(def, name), () =>
      this.store.get(objectKey(def, namespace, name)),
    );
    if (!kv) throw this.notFound(def, name);
    return this.decode(kv);
  }

  async list(
    def: AnyKindDefinition,
    namespace: string | undefined,
    options: ListOptions = {},
  ): Promise<ApiList> {
    const match = objectMatcher(def, options);
    const result = await mapStoreErrors(this.errorContext(def), () =>
      this.store.list(collectionPrefix(def, namespace)),
    );
    return {
      apiVersion: apiVersionOf(def),
      kind: `${def.kind}List`,
      metadata: { resourceVersion: String(result.revision) },
      items: result.items.map((kv) => this.decode(kv)).filter(match),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Create

  async create(
    def: AnyKindDefinition,
    namespace: string | undefined,
    body: unknown,
    ctx: RequestContext = {},
  ): Promise<ApiObject> {
    const input = this.resolveBody(def, body);
    const meta = isPlainObject(input.metadata) ? { ...input.metadata } : input.metadata;
    if (isPlainObject(meta)) {
      if (def.namespaced) {
        if (meta.namespace !== undefined && meta.namespace !== namespace) {
          throw badField(
            'the namespace of the provided object does not match the namespace sent on the request',
            'metadata.namespace',
            `Invalid value: ${JSON.stringify(meta.namespace)}: does not match the namespace "${namespace ?? ''}" of the URL`,
          );
        }
        meta.namespace = namespace;
      }
      // Server-owned fields: whatever the client sent is ignored.
      for (const field of [
        'resourceVersion',
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
      ]) {
        delete meta[field];
      }
      input.metadata = meta;
    }
    const validated = validateObject(def, input);
    this.hooks.get(def)?.prepareForCreate?.(validated);
    const run = (): Promise<ApiObject> => this.insert(def, validated, ctx);
    if (def.namespaced) {
      if (!namespace) throw ApiError.badRequest('a namespace is required to create this object');
      if (this.namespaces) return this.namespaces.withNamespaceForCreate(namespace, run);
    }
    return run();
  }

  private generatedName(def: AnyKindDefinition, generateName: string): string {
    const max =
      (def.nameRule === 'dns1123-label' ? DNS1123_LABEL_MAX : DNS1123_SUBDOMAIN_MAX) -
      GENERATED_SUFFIX;
    let suffix = '';
    for (let i = 0; i < GENERATED_SUFFIX; i += 1) suffix += ALPHABET[randomInt(ALPHABET.length)];
    return generateName.slice(0, max) + suffix;
  }

  private async insert(
    def: AnyKindDefinition,
    validated: ApiObject,
    ctx: RequestContext,
  ): Promise<ApiObject> {
    const given = validated.metadata.name;
    const admit = this.hooks.get(def)?.admitCreate;
    for (let attempt = 0, admissions = 0; ;) {
      const name = given || this.generatedName(def, validated.metadata.generateName ?? '');
      if (!given) {
        const causes = validateName(def, name);
        if (causes.length) throw ApiError.invalid(def.kind, name, causes);
      }
      const { namespace } = validated.metadata;
      // Admission changes its own copy: a retry starts again from the validated object.
      const base = admit ? structuredClone(validated) : validated;
      const obj: ApiObject = {
        ...base,
        metadata: {
          ...base.metadata,
          name,
          ...(def.namespaced ? { namespace } : {}),
          uid: randomUUID(),
          generation: 1,
          creationTimestamp: timestamp(this.now()),
        },
      };
      const key = objectKey(def, namespace, name);
      try {
        const extra = (await admit?.(obj, ctx)) ?? [];
        if (extra.length === 0) return this.decode(await this.store.create(key, this.encode(obj)));
        const value = this.encode(obj);
        const revision = await this.store.txn([{ op: 'create', key, value }, ...extra]);
        const created = revision - extra.length;
        return this.decode({ key, value, createRevision: created, modRevision: created });
      } catch (err) {
        const exists = err instanceof StoreError && err.code === 'KeyExists';
        if (exists && err.key !== key && admissions < ADMISSION_RETRIES) {
          admissions += 1;
          continue;
        }
        const retry = !given && attempt < GENERATE_NAME_RETRIES && exists;
        if (!retry) throw toApiError(err, this.errorContext(def, name));
        attempt += 1;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Update and patch

  /** PUT: replace the object (or, with subresource "status", its status). */
  async update(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource?: 'status',
    ctx: RequestContext = {},
  ): Promise<ApiObject> {
    const input = this.resolveBody(def, body);
    const meta = isPlainObject(input.metadata) ? input.metadata : {};
    this.checkIdentity(def, namespace, name, meta);
    const rv = meta.resourceVersion;
    if (rv !== undefined && typeof rv !== 'string') {
      throw badField(
        'metadata.resourceVersion must be a string',
        'metadata.resourceVersion',
        'Invalid value: must be a string',
      );
    }
    return this.guaranteedUpdate(def, namespace, name, subresource, ctx, (current) => {
      if (subresource === 'status') {
        const candidate: ApiObject = { ...current };
        if (input.status === undefined) delete candidate.status;
        else candidate.status = input.status;
        return { candidate, resourceVersion: rv };
      }
      return { candidate: input as ApiObject, resourceVersion: rv };
    });
  }

  /** PATCH: a merge, strategic merge or JSON patch applied to the stored object. */
  async patch(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    subresource?: 'status',
    ctx: RequestContext = {},
  ): Promise<ApiObject> {
    if (type !== 'json' && !isPlainObject(patch)) {
      throw ApiError.badRequest('a merge patch must be a JSON object');
    }
    if (type === 'json' && !Array.isArray(patch)) {
      throw ApiError.badRequest('a JSON patch must be an array of operations');
    }
    return this.guaranteedUpdate(def, namespace, name, subresource, ctx, (current) => {
      let patched: unknown;
      try {
        patched =
          type === 'merge'
            ? applyMergePatch(current, patch)
            : type === 'strategic'
              ? applyStrategicMergePatch(
                  current,
                  patch as Record<string, unknown>,
                  strategicSchemaFor(def.kind),
                )
              : applyJsonPatch(current, patch);
      } catch (err) {
        if (err instanceof JsonPatchError) {
          throw new ApiError('Invalid', `the JSON patch could not be applied: ${err.message}`, {
            cause: err,
          });
        }
        throw err;
      }
      const input = this.resolveBody(def, patched);
      const meta = isPlainObject(input.metadata) ? input.metadata : {};
      this.checkIdentity(def, namespace, name, meta);
      // The patched object carries the stored resourceVersion unless the patch set another:
      // then it is a precondition, as in Kubernetes.
      const rv = meta.resourceVersion;
      const resourceVersion = rv === undefined || typeof rv === 'string' ? rv : JSON.stringify(rv);
      if (subresource === 'status') {
        const candidate: ApiObject = { ...current };
        if (input.status === undefined) delete candidate.status;
        else candidate.status = input.status;
        return { candidate, resourceVersion };
      }
      return { candidate: input as ApiObject, resourceVersion };
    });
  }

  /**
   * Server-internal read-modify-write of one object, spec and status together, for
   * subresources with rules of their own (pods/binding). `change` gets a copy of the stored
   * object and returns the object to store, or throws an ApiError to refuse. The result is
   * validated like any update; a concurrent write makes it read and change again.
   */
  async modify(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    change: (current: ApiObject) => ApiObject,
  ): Promise<ApiObject> {
    return this.guaranteedUpdate(def, namespace, name, 'all', {}, (current) => ({
      candidate: change(structuredClone(current)),
      resourceVersion: undefined,
    }));
  }

  private checkIdentity(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    meta: Record<string, unknown>,
  ): void {
    if (meta.name !== undefined && meta.name !== name) {
      throw badField(
        `the name of the object (${typeof meta.name === 'string' ? meta.name : JSON.stringify(meta.name)}) does not match the name on the URL (${name})`,
        'metadata.name',
        `Invalid value: ${JSON.stringify(meta.name)}: field is immutable`,
      );
    }
    if (def.namespaced && meta.namespace !== undefined && meta.namespace !== namespace) {
      throw badField(
        'the namespace of the provided object does not match the namespace sent on the request',
        'metadata.namespace',
        `Invalid value: ${JSON.stringify(meta.namespace)}: field is immutable`,
      );
    }
  }

  /**
   * Read, change, write at the read revision. `mutate` returns the candidate and the
   * resourceVersion the client expects, if any; a mismatch is 409.
   */
  private async guaranteedUpdate(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    subresource: 'status' | 'all' | undefined,
    request: RequestContext,
    mutate: (current: ApiObject) => { candidate: ApiObject; resourceVersion: string | undefined },
  ): Promise<ApiObject> {
    const key = objectKey(def, namespace, name);
    const ctx = this.errorContext(def, name);
    for (let attempt = 0; ; attempt += 1) {
      const kv = await mapStoreErrors(ctx, () => this.store.get(key));
      if (!kv) throw this.notFound(def, name);
      const current = this.decode(kv);
      const { candidate, resourceVersion } = mutate(current);
      if (resourceVersion !== undefined && resourceVersion !== String(kv.modRevision)) {
        throw toApiError(
          new StoreError('Conflict', key, 'resourceVersion precondition failed', kv.modRevision),
          ctx,
        );
      }
      const next = this.prepareUpdate(def, current, candidate, subresource, request);
      const hook = subresource === 'status' ? undefined : this.hooks.get(def)?.updateOps;
      const extra = hook ? await hook(current, next) : [];
      const generation = current.metadata.generation ?? 1;
      if (subresource !== 'status') {
        next.metadata.generation = jsonEqual(specOf(next), specOf(current))
          ? generation
          : generation + 1;
      }
      if (jsonEqual(withoutResourceVersion(next), withoutResourceVersion(current))) return current;
      try {
        const value = this.encode(next);
        if (extra.length === 0) {
          return this.decode(await this.store.update(key, value, kv.modRevision));
        }
        const revision = await this.store.txn([
          { op: 'update', key, value, expectedModRevision: kv.modRevision },
          ...extra,
        ]);
        return this.decode({
          key,
          value,
          createRevision: kv.createRevision,
          modRevision: revision - extra.length,
        });
      } catch (err) {
        // Someone wrote in between (the object, or a reservation the update takes or gives
        // up): read again. A client precondition is checked again on the fresh read, so a
        // stale resourceVersion still ends in 409.
        const raced =
          err instanceof StoreError &&
          (err.code === 'Conflict' || (err.code === 'KeyExists' && err.key !== key));
        if (!(attempt < UPDATE_RETRIES && raced)) throw toApiError(err, ctx);
      }
    }
  }

  /** Validates a candidate and restores what clients cannot change. `all`: spec and status
   * may both change (server-internal writes). */
  private prepareUpdate(
    def: AnyKindDefinition,
    current: ApiObject,
    candidate: ApiObject,
    subresource: 'status' | 'all' | undefined,
    ctx: RequestContext,
  ): ApiObject {
    if (candidate.metadata !== undefined && !isPlainObject(candidate.metadata)) {
      throw ApiError.invalid(def.kind, current.metadata.name ?? '', [
        {
          field: 'metadata',
          message: 'Invalid value: must be an object',
          reason: 'FieldValueInvalid',
        },
      ]);
    }
    const meta: Record<string, unknown> = { ...candidate.metadata };
    const uid = meta.uid;
    if (uid !== undefined && uid !== '' && uid !== current.metadata.uid) {
      throw new ApiError(
        'Conflict',
        `Precondition failed: UID in precondition: ${JSON.stringify(uid)}, UID in object meta: ${current.metadata.uid ?? ''}`,
        { details: { name: current.metadata.name ?? '', kind: qualifiedResource(def) } },
      );
    }
    // Immutable and server-owned metadata comes from the stored object.
    const stored = current.metadata;
    const restored: Record<string, unknown> = { ...meta, name: stored.name };
    if (def.namespaced) restored.namespace = stored.namespace;
    for (const field of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'resourceVersion',
    ] as const) {
      if (stored[field] === undefined) delete restored[field];
      else restored[field] = stored[field];
    }
    const validated = validateObject(def, { ...candidate, metadata: restored });

    if (subresource === 'status') {
      // Only status changes; everything else stays as stored.
      const next: ApiObject = { ...current };
      if (validated.status === undefined) delete next.status;
      else next.status = validated.status;
      return next;
    }
    const next: ApiObject = { ...validated, metadata: { ...validated.metadata } };
    if (def.statusSubresource && subresource !== 'all') {
      if (current.status === undefined) delete next.status;
      else next.status = current.status;
    }
    if (subresource === undefined) this.hooks.get(def)?.admitUpdate?.(current, next, ctx);
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // Delete

  async delete(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<ApiObject> {
    const hooks = this.hooks.get(def);
    if (hooks?.delete) return hooks.delete(name, options);
    const key = objectKey(def, namespace, name);
    const ctx = this.errorContext(def, name);
    if (options.propagationPolicy === 'Orphan') {
      options = await this.orphanBeforeDelete(def, key, name, options, hooks);
    }
    for (let attempt = 0; ; attempt += 1) {
      const kv = await mapStoreErrors(ctx, () => this.store.get(key));
      if (!kv) throw this.notFound(def, name);
      const expected = this.checkPreconditions(def, kv, options);
      const current = this.decode(kv);
      if (options.onlyTerminating && current.metadata.deletionTimestamp === undefined) {
        throw new ApiError(
          'Forbidden',
          `${qualifiedResource(def)} "${name}" is forbidden: it is not terminating, so there is no deletion to confirm`,
          { details: { name, kind: qualifiedResource(def) } },
        );
      }
      const step = hooks?.gracePeriod
        ? this.gracefulStep(current, options, hooks.gracePeriod)
        : ({ type: 'now' } as const);
      if (step.type === 'pending') return current;
      try {
        if (step.type === 'now') {
          // Exactly the revision judged above (a pod bound meanwhile is judged again).
          const at = hooks?.gracePeriod ? kv.modRevision : expected;
          const extra = (await hooks?.deleteOps?.(current)) ?? [];
          if (extra.length === 0) return this.decode(await this.store.delete(key, at));
          const revision = await this.store.txn([
            { op: 'delete', key, expectedModRevision: at ?? kv.modRevision },
            ...extra,
          ]);
          return this.decode({ ...kv, modRevision: revision - extra.length });
        }
        return this.decode(await this.store.update(key, this.encode(step.next), kv.modRevision));
      } catch (err) {
        const retry =
          attempt < DELETE_RETRIES && err instanceof StoreError && err.code === 'Conflict';
        if (!retry) throw toApiError(err, ctx);
      }
    }
  }

  /**
   * `propagationPolicy: Orphan`, as Kubernetes' orphan finalizer: the object is first marked
   * as being deleted (deletionTimestamp; kinds without graceful deletion only), so its
   * controller neither adopts nor replaces the pods about to be released, then every object
   * naming it as an owner loses that reference. Returns the options for the deletion proper
   * (the uid precondition kept; a revision precondition has been checked and is spent).
   */
  private async orphanBeforeDelete(
    def: AnyKindDefinition,
    key: string,
    name: string,
    options: DeleteOptions,
    hooks: KindHooks | undefined,
  ): Promise<DeleteOptions> {
    const ctx = this.errorContext(def, name);
    let owner: ApiObject;
    for (let attempt = 0; ; attempt += 1) {
      const kv = await mapStoreErrors(ctx, () => this.store.get(key));
      if (!kv) throw this.notFound(def, name);
      this.checkPreconditions(def, kv, options);
      owner = this.decode(kv);
      if (hooks?.gracePeriod || owner.metadata.deletionTimestamp) break;
      const marked: ApiObject = {
        ...owner,
        metadata: { ...owner.metadata, deletionTimestamp: timestamp(this.now()) },
      };
      try {
        owner = this.decode(await this.store.update(key, this.encode(marked), kv.modRevision));
        break;
      } catch (err) {
        const retry =
          attempt < DELETE_RETRIES && err instanceof StoreError && err.code === 'Conflict';
        if (!retry) throw toApiError(err, ctx);
      }
    }
    await this.orphanDependents(owner);
    const uid = owner.metadata.uid;
    return { ...options, preconditions: uid ? { uid } : undefined };
  }

  /**
   * Removes `owner`'s uid from the ownerReferences of every object that names it (in its
   * namespace; anywhere for a cluster-scoped owner).
   */
  private async orphanDependents(owner: ApiObject): Promise<void> {
    const uid = owner.metadata.uid;
    const namespace = owner.metadata.namespace;
    if (!uid) return;
    for (const def of this.registry.all()) {
      if (namespace && !def.namespaced) continue;
      if (!def.verbs.includes('list') || this.hooks.get(def)?.delete) continue;
      const listed = await mapStoreErrors(this.errorContext(def), () =>
        this.store.list(collectionPrefix(def, namespace)),
      );
      for (const kv of listed.items) {
        const dependent = this.decode(kv);
        if (!dependent.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
        try {
          await this.modify(
            def,
            dependent.metadata.namespace,
            dependent.metadata.name ?? '',
            (cur) => {
              const { ownerReferences = [], ...metadata } = cur.metadata;
              const refs = ownerReferences.filter((r) => r.uid !== uid);
              return {
                ...cur,
                metadata: refs.length ? { ...metadata, ownerReferences: refs } : metadata,
              };
            },
          );
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
        }
      }
    }
  }

  /**
   * Kubernetes' BeforeDelete for kinds with graceful deletion: mark the object (now + grace),
   * shorten a deletion under way (never lengthen it), leave it pending, or delete at once.
   */
  private gracefulStep(
    current: ApiObject,
    options: DeleteOptions,
    gracePeriod: NonNullable<KindHooks['gracePeriod']>,
  ): { type: 'now' } | { type: 'pending' } | { type: 'mark'; next: ApiObject } {
    const meta = current.metadata;
    const requested = options.gracePeriodSeconds;
    const mark = (deletionTimestamp: string, grace: number): { type: 'mark'; next: ApiObject } => ({
      type: 'mark',
      next: {
        ...current,
        metadata: {
          ...meta,
          deletionTimestamp,
          deletionGracePeriodSeconds: grace,
          // As Kubernetes: the start of a graceful deletion (not a shortening) is a new
          // generation, since whoever runs the object must now act differently.
          generation: (meta.generation ?? 1) + (meta.deletionTimestamp === undefined ? 1 : 0),
        },
      },
    });
    if (meta.deletionTimestamp !== undefined) {
      const granted = meta.deletionGracePeriodSeconds;
      if (granted === undefined || requested === 0) return { type: 'now' };
      if (requested === undefined || requested >= granted) return { type: 'pending' };
      const started = Date.parse(meta.deletionTimestamp) - granted * 1000;
      return mark(timestamp(new Date(started + requested * 1000)), requested);
    }
    const grace = gracePeriod(current, requested);
    if (grace <= 0) return { type: 'now' };
    return mark(timestamp(new Date(this.now().getTime() + grace * 1000)), grace);
  }

  /** Checks delete preconditions; returns the revision to delete at (undefined: any). */
  checkPreconditions(
    def: AnyKindDefinition,
    kv: KeyValue,
    options: DeleteOptions,
  ): number | undefined {
    const pre = options.preconditions;
    if (!pre || (pre.uid === undefined && pre.resourceVersion === undefined)) return undefined;
    const current = this.decode(kv);
    if (pre.uid !== undefined && pre.uid !== current.metadata.uid) {
      throw new ApiError(
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
        { details: { name: current.metadata.name ?? '', kind: qualifiedResource(def) } },
      );
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== String(kv.modRevision)) {
      throw toApiError(
        new StoreError('Conflict', kv.key, 'resourceVersion precondition failed', kv.modRevision),
        this.errorContext(def, current.metadata.name),
      );
    }
    // Delete exactly the revision the preconditions were checked against.
    return kv.modRevision;
  }

  notFound(def: AnyKindDefinition, name: string): ApiError {
    return toApiError(
      new StoreError('NotFound', '', 'not found'),
      this.errorContext(def, name),
    ) as ApiError;
  }

  // -------------------------------------------------------------------------------------------
  // Watch

  /**
   * Opens a watch. Errors known up front (bad selector or resourceVersion, compacted revision)
   * are thrown here, before anything is streamed; later ones surface from the iterator.
   */
  async watch(
    def: AnyKindDefinition,
    namespace: string | undefined,
    options: WatchOptions,
    signal: AbortSignal,
  ): Promise<ObjectWatch> {
    const match = objectMatcher(def, options);
    const prefix = collectionPrefix(def, namespace);
    const rvText = options.resourceVersion;
    const ctx: ErrorContext = { ...this.errorContext(def), resourceVersion: rvText ?? '' };
    let initial: ApiObject[] = [];
    let from: number;
    if (rvText === undefined || rvText === '' || rvText === '0') {
      const listed = await mapStoreErrors(ctx, () => this.store.list(prefix));
      from = listed.revision;
      initial = listed.items.map((kv) => this.decode(kv)).filter(match);
    } else {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(rvText)) {
        throw badField(
          `invalid resourceVersion "${rvText}"`,
          'resourceVersion',
          'Invalid value: must be a revision number',
        );
      }
      from = Number(rvText);
      const compacted = await mapStoreErrors(ctx, () => this.store.compactedRevision());
      if (from < compacted) {
        throw toApiError(new StoreError('Compacted', prefix, 'compacted', compacted), ctx);
      }
    }
    let events: AsyncIterable<StoreEvent>;
    try {
      events = this.store.watch(prefix, from, signal);
    } catch (err) {
      throw toApiError(err, ctx);
    }
    let progress: number | undefined;
    const convert = (ev: StoreEvent): WatchEvent | undefined => this.toWatchEvent(ev, match);
    const iterate = async function* (): AsyncGenerator<WatchEvent> {
      for (const obj of initial) yield { type: 'ADDED', object: obj };
      progress = from;
      try {
        for await (const ev of events) {
          const out = convert(ev);
          if (out) yield out;
          progress = ev.revision;
        }
      } catch (err) {
        throw toApiError(err, ctx);
      }
    };
    return {
      progress: () => progress,
      [Symbol.asyncIterator]: () => iterate(),
    };
  }

  /** A store event as the watch event a client with this selector sees, if any. */
  private toWatchEvent(ev: StoreEvent, match: (obj: ApiObject) => boolean): WatchEvent | undefined {
    const obj = this.decode(ev.kv);
    if (ev.type === 'create') return match(obj) ? { type: 'ADDED', object: obj } : undefined;
    const before = ev.prev ? this.decode(ev.prev) : undefined;
    if (ev.type === 'delete')
      return match(before ?? obj) ? { type: 'DELETED', object: obj } : undefined;
    const was = before ? match(before) : match(obj);
    const is = match(obj);
    if (was && is) return { type: 'MODIFIED', object: obj };
    if (is) return { type: 'ADDED', object: obj };
    if (was) return { type: 'DELETED', object: obj };
    return undefined;
  }
}
