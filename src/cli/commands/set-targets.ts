/**
 * What the `set` commands work on: the objects named on the command line and the containers of
 * their pod templates that `-c` picks.
 */
import type { ApiObject, Container, PodSpec } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseTargets, qualifiedName } from '../resources.js';

/** The pod spec of an object: a pod's own, or a workload's template's. */
export function podSpecOf(obj: ApiObject): PodSpec | undefined {
  if (obj.kind === 'Pod') return obj.spec as PodSpec;
  return (obj.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** The containers `-c` picks (a name or a glob; `*`: every container). */
export function pickContainers(spec: PodSpec, pattern: string): Container[] {
  const re = globToRegExp(pattern);
  const all = [...spec.containers, ...(pattern === '*' ? [] : (spec.initContainers ?? []))];
  return all.filter((c) => re.test(c.name));
}

/** The objects named by TYPE/NAME arguments, read from the current (or given) project. */
export async function fetchTargets(
  ctx: CliContext,
  args: readonly string[],
  namespaceFlag: string | undefined,
): Promise<{ def: ReturnType<typeof parseTargets>[number]['def']; obj: ApiObject }[]> {
  const targets = parseTargets(ctx.registry, args);
  if (targets.length === 0)
    throw new CliError('give a resource: TYPE/NAME or TYPE NAME (e.g. dc/web)');
  const client = await ctx.client();
  const namespace = await ctx.namespace(namespaceFlag);
  const out = [];
  for (const t of targets) {
    if (!t.name) throw new CliError(`give the name of the ${t.def.singular}`);
    out.push({ def: t.def, obj: await client.get(t.def, t.name, { namespace }) });
  }
  return out;
}

/**
 * The objects named, each with the containers of its pod template that `pattern` picks; every
 * object is checked before any is changed (CliError naming the first without a template or a
 * matching container).
 */
export async function targetContainers(
  ctx: CliContext,
  resources: readonly string[],
  namespaceFlag: string | undefined,
  pattern: string,
): Promise<
  {
    def: Awaited<ReturnType<typeof fetchTargets>>[number]['def'];
    obj: ApiObject;
    name: string;
    containers: Container[];
  }[]
> {
  const out = [];
  for (const { def, obj } of await fetchTargets(ctx, resources, namespaceFlag)) {
    const spec = podSpecOf(obj);
    const name = obj.metadata.name ?? '';
    if (!spec) throw new CliError(`${qualifiedName(def, name)} has no pod template`);
    const containers = pickContainers(spec, pattern);
    if (containers.length === 0) {
      throw new CliError(`${qualifiedName(def, name)} has no container matching "${pattern}"`);
    }
    out.push({ def, obj, name, containers });
  }
  return out;
}
