import type { z } from 'zod';
import type { StatusCause } from './errors.js';
import type { ApiObject } from './meta.js';

/** A column of `slipway get` output. `wide` columns appear only with `-o wide`. */
export interface Column<T extends ApiObject = ApiObject> {
  header: string;
  value: (obj: T, now: Date) => string;
  wide?: boolean;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/**
 * Everything the platform knows about one kind. Adding a kind is one file under kinds/ that
 * exports a definition, plus one line in kinds/index.ts.
 */
export interface KindDefinition<T extends ApiObject = ApiObject> {
  kind: string;
  /** API group; '' for the core group served under /api. */
  group: string;
  version: string;
  /** Lower-case plural used in URLs: `pods`. */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  /** Other apiVersion strings accepted in request bodies, e.g. bare `v1` for OpenShift kinds. */
  aliasApiVersions: readonly string[];
  /** Which name syntax metadata.name must follow. */
  nameRule: 'dns1123-subdomain' | 'dns1123-label';
  /** Validates the kind-specific fields (metadata is validated generically). */
  schema: z.ZodType;
  /** Semantic checks beyond the schema, each naming its field. */
  validate?: (obj: T) => StatusCause[];
  /** Canonicalise an accepted object before it is stored (e.g. Secret stringData -> data). */
  normalize?: (obj: T) => T;
  /** With a status subresource, writes to the object keep the stored status and writes to
   * `/status` change only status. */
  statusSubresource: boolean;
  /** Field selectors beyond metadata.name and metadata.namespace. */
  fieldSelectors: Readonly<Record<string, (obj: T) => string | undefined>>;
  /** What the API allows on this kind (ProjectRequest, for one, is create-only). */
  verbs: readonly Verb[];
  columns: readonly Column<T>[];
}

export type AnyKindDefinition = KindDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const ALL_VERBS: readonly Verb[] = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
];

/** Fills the defaults so kind files stay short. */
export function defineKind<T extends ApiObject>(
  def: Pick<KindDefinition<T>, 'kind' | 'group' | 'version' | 'plural' | 'namespaced' | 'schema'> &
    Partial<KindDefinition<T>>,
): KindDefinition<T> {
  return {
    singular: def.kind.toLowerCase(),
    shortNames: [],
    aliasApiVersions: [],
    nameRule: 'dns1123-subdomain',
    statusSubresource: false,
    fieldSelectors: {},
    verbs: ALL_VERBS,
    columns: [],
    ...def,
  };
}

export function apiVersionOf(def: Pick<KindDefinition, 'group' | 'version'>): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** Looks kinds up by apiVersion+kind (bodies), group+version+plural (URLs) and by what users
 * type on the command line (plural, singular, short name, kind, `plural.group`). */
export class KindRegistry {
  private readonly defs: AnyKindDefinition[] = [];
  private readonly byApiVersionKind = new Map<string, AnyKindDefinition>();
  private readonly byResource = new Map<string, AnyKindDefinition>();
  private readonly byUserName = new Map<string, AnyKindDefinition>();

  constructor(defs: readonly AnyKindDefinition[] = []) {
    for (const def of defs) this.register(def);
  }

  register(def: AnyKindDefinition): void {
    const resourceKey = `${def.group}/${def.version}/${def.plural}`;
    if (this.byResource.has(resourceKey)) throw new Error(`kind ${def.kind} registered twice`);
    this.defs.push(def);
    this.byResource.set(resourceKey, def);
    for (const apiVersion of [apiVersionOf(def), ...def.aliasApiVersions]) {
      this.byApiVersionKind.set(`${apiVersion}|${def.kind}`, def);
    }
    const names = [
      def.plural,
      def.singular,
      def.kind.toLowerCase(),
      ...def.shortNames,
      ...(def.group ? [`${def.plural}.${def.group}`, `${def.singular}.${def.group}`] : []),
    ];
    for (const name of names) {
      if (!this.byUserName.has(name)) this.byUserName.set(name, def);
    }
  }

  all(): readonly AnyKindDefinition[] {
    return this.defs;
  }

  /** The definition for an object's apiVersion and kind, accepting alias apiVersions. */
  forObject(apiVersion: string, kind: string): AnyKindDefinition | undefined {
    return this.byApiVersionKind.get(`${apiVersion}|${kind}`);
  }

  forResource(group: string, version: string, plural: string): AnyKindDefinition | undefined {
    return this.byResource.get(`${group}/${version}/${plural}`);
  }

  /** `pods`, `po`, `pod`, `Pod`, `routes.route.openshift.io`, ... */
  forUserName(name: string): AnyKindDefinition | undefined {
    return this.byUserName.get(name.toLowerCase());
  }
}
