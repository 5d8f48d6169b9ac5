import type { Command } from 'commander';
import { isApiError, type AnyKindDefinition } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { readManifests } from '../manifests.js';
import { parseTargets, resourceName } from '../resources.js';
import { collect, kindOf, namespaceOf } from './apply.js';
import { checkSelection } from './get.js';

interface DeleteOptions {
  filename: string[];
  namespace?: string;
  selector?: string;
  fieldSelector?: string;
  all?: boolean;
  ignoreNotFound?: boolean;
}

export function registerDeleteCommand(program: Command, ctx: CliContext): void {
  program
    .command('delete')
    .description('Delete resources by name, by label selector, all of a type, or as named in files')
    .argument('[args...]', 'TYPE [NAME...] or TYPE/NAME...')
    .option(
      '-f, --filename <path>',
      'file, directory or - (standard input); repeatable',
      collect,
      [],
    )
    .option(
      '-n, --namespace <namespace>',
      'the project to delete in (default: the current project)',
    )
    .option(
      '-l, --selector <selector>',
      'delete everything of the type matching this label selector',
    )
    .option(
      '--field-selector <selector>',
      'delete everything of the type matching this field selector',
    )
    .option('--all', 'delete everything of the type in the project')
    .option('--ignore-not-found', 'treat "not found" as a successful delete')
    .action(async (args: string[], opts: DeleteOptions) => {
      const namespace = await ctx.namespace(opts.namespace);
      const work: { def: AnyKindDefinition; name: string; namespace: string | undefined }[] = [];
      let client: ApiClient;
      if (opts.filename.length > 0) {
        if (args.length > 0)
          throw new CliError('specify resources either as arguments or with -f, not both');
        const manifests = await readManifests(opts.filename, ctx.io.stdin);
        for (const m of manifests) {
          const def = kindOf(ctx, m);
          const name = m.object.metadata?.name;
          if (!name)
            throw new CliError(
              `${m.source}: document ${m.document}: metadata.name is required to delete`,
            );
          work.push({
            def,
            name,
            namespace: namespaceOf(def, m.object, opts.namespace, namespace),
          });
        }
        client = await ctx.client();
      } else {
        const targets = parseTargets(ctx.registry, args);
        if (targets.length === 0)
          throw new CliError('you must provide one or more resources by argument or filename');
        checkSelection(targets, opts);
        const unnamed = targets.filter((t) => t.name === undefined);
        if (unnamed.length > 0 && !opts.all && !opts.selector && !opts.fieldSelector) {
          throw new CliError(
            'resource(s) were provided, but no name was specified; use NAME, -l SELECTOR or --all',
          );
        }
        client = await ctx.client();
        for (const t of targets) {
          const ns = t.def.namespaced ? namespace : undefined;
          if (t.name !== undefined) {
            work.push({ def: t.def, name: t.name, namespace: ns });
            continue;
          }
          const list = await client.list(t.def, {
            namespace: ns,
            labelSelector: opts.selector,
            fieldSelector: opts.fieldSelector,
          });
          for (const item of list.items)
            work.push({ def: t.def, name: item.metadata.name ?? '', namespace: ns });
        }
        if (work.length === 0) {
          ctx.err('No resources found');
          return;
        }
      }
      for (const { def, name, namespace: ns } of work) {
        try {
          await client.delete(def, name, { namespace: ns });
          ctx.out(`${resourceName(def)} "${name}" deleted`);
        } catch (err) {
          if (opts.ignoreNotFound && isApiError(err, 'NotFound')) continue;
          ctx.reportError(err);
        }
      }
    });
}
