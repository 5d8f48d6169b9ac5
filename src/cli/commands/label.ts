import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseTargets, qualifiedName } from '../resources.js';
import { checkSelection, fetchTargets, requireNameOrSelection } from './get.js';

export interface MetadataUpdates {
  set: Record<string, string>;
  remove: string[];
}

/** `k=v` sets, `k-` removes. Anything else is a resource argument. */
export function isUpdateArg(arg: string): boolean {
  return arg.includes('=') || (arg.endsWith('-') && !arg.includes('/'));
}

export function parseUpdates(
  args: readonly string[],
  what: 'label' | 'annotation',
): MetadataUpdates {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      const key = arg.slice(0, eq);
      if (!key) throw new CliError(`invalid ${what} spec: ${arg}`);
      set[key] = arg.slice(eq + 1);
    } else if (arg.endsWith('-') && arg.length > 1) {
      remove.push(arg.slice(0, -1));
    } else {
      throw new CliError(`invalid ${what} spec: ${arg}`);
    }
  }
  for (const key of remove) {
    if (key in set)
      throw new CliError(
        `can not both modify and remove ${what === 'label' ? 'a label' : 'an annotation'} in the same command`,
      );
  }
  if (Object.keys(set).length === 0 && remove.length === 0)
    throw new CliError(`at least one ${what} update is required`);
  return { set, remove };
}

/** The merge patch for the updates, or a refusal to overwrite without --overwrite, or
 * undefined when nothing would change. */
export function metadataPatch(
  current: Readonly<Record<string, string>> | undefined,
  updates: MetadataUpdates,
  overwrite: boolean,
  field: 'labels' | 'annotations',
): { patch?: Record<string, unknown>; missing: string[] } {
  const existing = current ?? {};
  const change: Record<string, string | null> = {};
  const missing: string[] = [];
  for (const [k, v] of Object.entries(updates.set)) {
    const has = Object.prototype.hasOwnProperty.call(existing, k);
    if (has && existing[k] !== v && !overwrite) {
      throw new CliError(`'${k}' already has a value (${existing[k]}), and --overwrite is false`);
    }
    if (!has || existing[k] !== v) change[k] = v;
  }
  for (const k of updates.remove) {
    if (Object.prototype.hasOwnProperty.call(existing, k)) change[k] = null;
    else missing.push(k);
  }
  if (Object.keys(change).length === 0) return { missing };
  return { patch: { metadata: { [field]: change } }, missing };
}

function register(program: Command, ctx: CliContext, what: 'label' | 'annotation'): void {
  const verb = what === 'label' ? 'label' : 'annotate';
  const field = what === 'label' ? 'labels' : 'annotations';
  program
    .command(verb)
    .description(`Update the ${field} of resources: KEY=VALUE sets, KEY- removes`)
    .argument('<args...>', `TYPE NAME... KEY=VALUE... KEY-... (or TYPE/NAME)`)
    .option('--overwrite', `allow changing ${field} that already have a value`)
    .option('-n, --namespace <namespace>', 'the project to look in (default: the current project)')
    .option(
      '-l, --selector <selector>',
      'update everything of the type matching this label selector',
    )
    .option('--all', 'update everything of the type in the project')
    .action(
      async (
        args: string[],
        opts: { overwrite?: boolean; namespace?: string; selector?: string; all?: boolean },
      ) => {
        const resourceArgs = args.filter((a) => !isUpdateArg(a));
        const updates = parseUpdates(args.filter(isUpdateArg), what);
        const targets = parseTargets(ctx.registry, resourceArgs);
        if (targets.length === 0)
          throw new CliError(
            'one or more resources must be specified as <resource> <name> or <resource>/<name>',
          );
        checkSelection(targets, opts);
        requireNameOrSelection(targets, opts);
        const client = await ctx.client();
        const namespace = await ctx.namespace(opts.namespace);
        const { groups, errors } = await fetchTargets(client, targets, {
          namespace,
          labelSelector: opts.selector,
        });
        for (const err of errors) ctx.reportError(err);
        for (const { def, items } of groups) {
          for (const obj of items) {
            const ref = qualifiedName(def, obj);
            try {
              const { patch, missing } = metadataPatch(
                obj.metadata[field],
                updates,
                Boolean(opts.overwrite),
                field,
              );
              for (const key of missing) ctx.err(`${what} "${key}" not found.`);
              if (!patch) {
                ctx.out(`${ref} not ${verb === 'label' ? 'labeled' : 'annotated'}`);
                continue;
              }
              await client.patch(def, obj.metadata.name ?? '', patch, {
                namespace: obj.metadata.namespace,
              });
              const onlyRemoved = Object.keys(updates.set).length === 0;
              ctx.out(
                `${ref} ${verb === 'label' ? (onlyRemoved ? 'unlabeled' : 'labeled') : 'annotated'}`,
              );
            } catch (err) {
              ctx.reportError(err);
            }
          }
        }
      },
    );
}

export function registerLabelCommands(program: Command, ctx: CliContext): void {
  register(program, ctx, 'label');
  register(program, ctx, 'annotation');
}
