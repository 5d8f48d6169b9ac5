import type { Command } from 'commander';
import { ApiError, isApiError, type AnyKindDefinition, type ApiObject } from '../../api/index.js';
import { ConnectionError, type ApiClient } from '../../client/index.js';
import { LAST_APPLIED, lastApplied, planApply, withLastApplied } from '../apply.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { readManifests, type Manifest } from '../manifests.js';
import { qualifiedName } from '../resources.js';

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export const FILENAME_REQUIRED =
  'must specify -f FILENAME (a file, a directory, or - for standard input)';

/** The definition for a manifest's object, or kubectl's "unable to recognize" error. */
export function kindOf(ctx: CliContext, m: Manifest): AnyKindDefinition {
  const def = ctx.registry.forObject(m.object.apiVersion, m.object.kind);
  if (!def) {
    throw new CliError(
      `unable to recognize "${m.source}": no matches for kind "${m.object.kind}" in version "${m.object.apiVersion}"`,
    );
  }
  return def;
}

/** The namespace an object goes to: its own, else the -n flag / current project. An explicit
 * -n that contradicts the object's own namespace is refused, as kubectl does. */
export function namespaceOf(
  def: AnyKindDefinition,
  obj: ApiObject,
  flag: string | undefined,
  fallback: string,
): string | undefined {
  if (!def.namespaced) return undefined;
  const own = obj.metadata?.namespace;
  if (own && flag && own !== flag) {
    throw new CliError(
      `the namespace from the provided object "${own}" does not match the namespace "${flag}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  return own || fallback;
}

/** Reports a failure for one object and carries on, except for failures that will hit every
 * object alike (server unreachable, not logged in): those end the command. */
export function reportObjectError(
  ctx: CliContext,
  err: unknown,
  doing: string,
  source: string,
): void {
  if (err instanceof ConnectionError || isApiError(err, 'Unauthorized')) throw err;
  if (err instanceof ApiError) {
    ctx.err(`Error from server (${err.reason}): error when ${doing} "${source}": ${err.message}`);
    ctx.exitCode = 1;
  } else {
    ctx.reportError(err);
  }
}

interface ApplyOptions {
  filename: string[];
  namespace?: string;
  saveConfig?: boolean;
}

/** Everything a -f run needs before the first write: parsed, recognised and placed, so a typo
 * in the third document does not leave the first two half-applied. */
async function prepare(
  ctx: CliContext,
  opts: ApplyOptions,
): Promise<
  { m: Manifest; def: AnyKindDefinition; obj: ApiObject; namespace: string | undefined }[]
> {
  if (opts.filename.length === 0) throw new CliError(FILENAME_REQUIRED);
  const manifests = await readManifests(opts.filename, ctx.io.stdin);
  const fallback = await ctx.namespace(opts.namespace);
  return manifests.map((m) => {
    const def = kindOf(ctx, m);
    const obj = structuredClone(m.object);
    obj.metadata = { ...(obj.metadata ?? {}) };
    const namespace = namespaceOf(def, obj, opts.namespace, fallback);
    if (namespace) obj.metadata.namespace = namespace;
    return { m, def, obj, namespace };
  });
}

async function applyOne(
  ctx: CliContext,
  client: ApiClient,
  def: AnyKindDefinition,
  obj: ApiObject,
  namespace: string | undefined,
): Promise<string> {
  const name = obj.metadata.name;
  if (!name) throw new CliError('metadata.name is required for apply');
  let live: ApiObject | undefined;
  try {
    live = await client.get(def, name, { namespace });
  } catch (err) {
    if (!isApiError(err, 'NotFound')) throw err;
  }
  const plan = planApply(def, obj, live);
  if (plan.action === 'create') {
    const created = await client.create(def, plan.object, { namespace });
    return `${qualifiedName(def, created)} created`;
  }
  if (plan.action === 'unchanged') return `${qualifiedName(def, name)} unchanged`;
  if (live && !lastApplied(live)) {
    ctx.err(
      `Warning: resource ${def.plural}/${name} is missing the ${LAST_APPLIED} annotation which is required by slipway apply. ` +
        'slipway apply should only be used on resources created declaratively by either slipway create --save-config or slipway apply. ' +
        'The missing annotation will be patched automatically.',
    );
  }
  await client.patch(def, name, plan.patch, { namespace });
  return `${qualifiedName(def, name)} configured`;
}

/** Registers `create -f` and `apply -f`; returns `create`, which has subcommands of its own. */
export function registerCreateApplyCommands(program: Command, ctx: CliContext): Command {
  const create = program
    .command('create')
    .description('Create resources from files or standard input')
    .option(
      '-f, --filename <path>',
      'file, directory or - (standard input); repeatable',
      collect,
      [],
    )
    .option(
      '-n, --namespace <namespace>',
      'the project for objects that name none (default: the current project)',
    )
    .option('--save-config', 'record the configuration for later "slipway apply"')
    .action(async (opts: ApplyOptions) => {
      const items = await prepare(ctx, opts);
      const client = await ctx.client();
      for (const { m, def, obj, namespace } of items) {
        try {
          const created = await client.create(def, opts.saveConfig ? withLastApplied(obj) : obj, {
            namespace,
          });
          ctx.out(`${qualifiedName(def, created)} created`);
        } catch (err) {
          reportObjectError(ctx, err, 'creating', m.source);
        }
      }
    });

  program
    .command('apply')
    .description('Create or update resources from files or standard input')
    .option(
      '-f, --filename <path>',
      'file, directory or - (standard input); repeatable',
      collect,
      [],
    )
    .option(
      '-n, --namespace <namespace>',
      'the project for objects that name none (default: the current project)',
    )
    .action(async (opts: ApplyOptions) => {
      const items = await prepare(ctx, opts);
      const client = await ctx.client();
      for (const { m, def, obj, namespace } of items) {
        try {
          ctx.out(await applyOne(ctx, client, def, obj, namespace));
        } catch (err) {
          if (err instanceof CliError) {
            ctx.err(`error: ${m.source}: document ${m.document}: ${err.message}`);
            ctx.exitCode = 1;
          } else {
            reportObjectError(ctx, err, 'applying', m.source);
          }
        }
      }
    });
  return create;
}
