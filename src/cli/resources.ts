import type { AnyKindDefinition, ApiObject, KindRegistry } from '../api/index.js';
import { CliError } from './errors.js';

/** What kubectl prints before a slash or in messages: `pod`, `project.project.openshift.io`. */
export function resourceName(def: AnyKindDefinition): string {
  return def.group ? `${def.singular}.${def.group}` : def.singular;
}

/** `pod/web-1`, the `-o name` form. */
export function qualifiedName(
  def: AnyKindDefinition,
  obj: Pick<ApiObject, 'metadata'> | string,
): string {
  return `${resourceName(def)}/${typeof obj === 'string' ? obj : (obj.metadata.name ?? '')}`;
}

/** A kind by any name users type: `pods`, `po`, `pod`, `Pod`, `configmaps.`. */
export function resolveKind(registry: KindRegistry, name: string): AnyKindDefinition {
  const def = name ? registry.forUserName(name.replace(/\.$/, '')) : undefined;
  if (!def) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return def;
}

/**
 * What `all` stands for (`get all`, `delete all -l app=web`): oc's "all" category, in its order,
 * as far as Slipway serves the kinds. Not Secrets, ConfigMaps, events or anything cluster-wide.
 */
export const ALL_CATEGORY = [
  'pods',
  'replicationcontrollers',
  'services',
  'daemonsets',
  'deployments',
  'replicasets',
  'statefulsets',
  'horizontalpodautoscalers',
  'jobs',
  'cronjobs',
  'deploymentconfigs',
  'buildconfigs',
  'builds',
  'imagestreams',
  'routes',
] as const;

/** The kinds a TYPE argument names: one, or those of `all`. */
function kindsNamed(registry: KindRegistry, type: string): AnyKindDefinition[] {
  if (type.toLowerCase() !== 'all') return [resolveKind(registry, type)];
  return ALL_CATEGORY.map((plural) => registry.forUserName(plural)).filter(
    (def): def is AnyKindDefinition => def !== undefined,
  );
}

/** One thing a command was asked about: a kind, and a name unless it means "all of them". */
export interface Target {
  def: AnyKindDefinition;
  name?: string;
}

/**
 * kubectl's argument forms: `TYPE[,TYPE...] [NAME...]` or `TYPE/NAME [TYPE/NAME...]`; `all` is
 * the ALL_CATEGORY kinds. With names and several types, every type is asked for every name.
 */
export function parseTargets(registry: KindRegistry, args: readonly string[]): Target[] {
  if (args.length === 0) return [];
  if (args.some((a) => a.includes('/'))) {
    return args.map((arg) => {
      const slash = arg.indexOf('/');
      if (slash < 0) {
        throw new CliError(
          `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'slipway get resource/<resource_name>' instead of 'slipway get resource resource/<resource_name>')`,
        );
      }
      const type = arg.slice(0, slash);
      const name = arg.slice(slash + 1);
      if (!name)
        throw new CliError(
          `arguments in resource/name form must have a single resource and name: "${arg}"`,
        );
      return { def: resolveKind(registry, type), name };
    });
  }
  const [types = '', ...names] = args;
  const defs = [
    ...new Set(
      types
        .split(',')
        .filter(Boolean)
        .flatMap((t) => kindsNamed(registry, t)),
    ),
  ];
  if (defs.length === 0) throw new CliError(`the server doesn't have a resource type "${types}"`);
  if (names.length === 0) return defs.map((def) => ({ def }));
  return defs.flatMap((def) => names.map((name) => ({ def, name })));
}

/** Distinct kinds, in the order first asked for. */
export function kindsOf(targets: readonly Target[]): AnyKindDefinition[] {
  return [...new Set(targets.map((t) => t.def))];
}
