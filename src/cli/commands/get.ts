import type { Command } from 'commander';
import { ApiError, isApiError, type AnyKindDefinition, type ApiObject } from '../../api/index.js';
import { listAndWatch, type ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { interruptSignal } from '../io.js';
import {
  formatStructured,
  formatTables,
  noResourcesMessage,
  parseOutputFormat,
  tableLayout,
  readableOrder,
  toJson,
  toYaml,
  type OutputFormat,
  type TableOptions,
} from '../printers.js';
import { kindsOf, parseTargets, qualifiedName, type Target } from '../resources.js';
import { formatTable } from '../table.js';

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
  fieldSelector?: string;
  watch?: boolean;
  showLabels?: boolean;
  /** False with `--no-headers`. */
  headers?: boolean;
  ignoreNotFound?: boolean;
}

export const KIND_REQUIRED =
  'you must specify the type of resource to get; "slipway api-resources" lists the types';

/** `a=b` and `c=d` -> `a=b,c=d`, leaving out empty parts. */
export function joinSelectors(...parts: (string | undefined)[]): string | undefined {
  const joined = parts.filter((p) => p !== undefined && p !== '').join(',');
  return joined || undefined;
}

/** Checks kubectl's rules on combining names with selectors and -A. */
export function checkSelection(
  targets: readonly Target[],
  opts: { selector?: string; allNamespaces?: boolean; all?: boolean },
): void {
  const named = targets.some((t) => t.name !== undefined);
  if (named && opts.selector)
    throw new CliError('name cannot be provided when a selector is specified');
  if (named && opts.all) throw new CliError('name cannot be provided when --all is specified');
  if (named && opts.allNamespaces) {
    throw new CliError('a resource cannot be retrieved by name across all namespaces');
  }
}

/** A kind given without a name needs a selector or --all (delete, label, scale). */
export function requireNameOrSelection(
  targets: readonly Target[],
  opts: { selector?: string; fieldSelector?: string; all?: boolean },
): void {
  const unnamed = targets.some((t) => t.name === undefined);
  if (unnamed && !opts.all && !opts.selector && !opts.fieldSelector) {
    throw new CliError(
      'resource(s) were provided, but no name was specified; use NAME, -l SELECTOR or --all',
    );
  }
}

/** Fetches what the targets name: named objects one by one, the rest by listing. Errors for
 * single names (NotFound) are collected, not thrown, so the others still print. */
export async function fetchTargets(
  client: ApiClient,
  targets: readonly Target[],
  opts: {
    namespace: string | undefined;
    labelSelector?: string | undefined;
    fieldSelector?: string | undefined;
    ignoreNotFound?: boolean | undefined;
  },
): Promise<{ groups: { def: AnyKindDefinition; items: ApiObject[] }[]; errors: unknown[] }> {
  const groups = kindsOf(targets).map((def) => ({ def, items: [] as ApiObject[] }));
  const errors: unknown[] = [];
  for (const target of targets) {
    const group = groups.find((g) => g.def === target.def)!;
    const namespace = target.def.namespaced ? opts.namespace : undefined;
    if (target.name !== undefined) {
      try {
        group.items.push(await client.get(target.def, target.name, { namespace }));
      } catch (err) {
        if (opts.ignoreNotFound && isApiError(err, 'NotFound')) continue;
        if (!(err instanceof ApiError) || (err.reason !== 'NotFound' && err.reason !== 'Forbidden'))
          throw err;
        errors.push(err);
      }
    } else {
      const list = await client.list(target.def, {
        namespace,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      });
      group.items.push(...list.items);
    }
  }
  return { groups, errors };
}

export function registerGetCommand(program: Command, ctx: CliContext): void {
  program
    .command('get')
    .description('Display one or many resources')
    .argument('[args...]', 'TYPE[,TYPE...] [NAME...] or TYPE/NAME...')
    .option('-n, --namespace <namespace>', 'the project to look in (default: the current project)')
    .option('-A, --all-namespaces', 'list across all projects')
    .option('-o, --output <format>', 'output format: wide, json, yaml or name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-w, --watch', 'after listing, watch for changes (until interrupted)')
    .option('--show-labels', 'show labels as the last column')
    .option('--no-headers', 'print the table rows only (no column headers)')
    .option('--ignore-not-found', 'treat "not found" for named objects as a successful retrieval')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway get pods\n  slipway get pods,cm -o wide\n  slipway get pod/web-1 -o yaml\n  slipway get pods -A -l app=web',
    )
    .action(async (args: string[], opts: GetOptions) => {
      const targets = parseTargets(ctx.registry, args);
      if (targets.length === 0) throw new CliError(KIND_REQUIRED);
      const format = parseOutputFormat(opts.output);
      checkSelection(targets, opts);
      const client = await ctx.client();
      const namespace = opts.allNamespaces ? undefined : await ctx.namespace(opts.namespace);
      if (opts.watch) {
        await watch(ctx, client, targets, format, namespace, opts);
        return;
      }
      const { groups, errors } = await fetchTargets(client, targets, {
        namespace,
        labelSelector: opts.selector,
        fieldSelector: opts.fieldSelector,
        ignoreNotFound: opts.ignoreNotFound,
      });
      if (format === 'table' || format === 'wide') {
        const text = formatTables(groups, tableOptions(ctx, format, opts, groups.length > 1));
        if (text) ctx.out(text.slice(0, -1));
        else if (errors.length === 0 && !targets.some((t) => t.name !== undefined)) {
          const namespaced = groups.some((g) => g.def.namespaced);
          ctx.err(noResourcesMessage(namespaced ? namespace : undefined));
        }
      } else {
        const items = groups.flatMap((g) => g.items.map((obj) => ({ def: g.def, obj })));
        const single = targets.length === 1 && targets[0]?.name !== undefined;
        // Nothing to print for a missing single object (its error follows) or an empty -o name.
        const nothing = items.length === 0 && (single || format === 'name');
        if (!nothing) ctx.io.stdout.write(formatStructured(format, items, single));
      }
      for (const err of errors) ctx.reportError(err);
    });
}

function tableOptions(
  ctx: CliContext,
  format: OutputFormat,
  opts: GetOptions,
  withKind: boolean,
): TableOptions {
  return {
    wide: format === 'wide',
    showLabels: Boolean(opts.showLabels),
    allNamespaces: Boolean(opts.allNamespaces),
    withKind,
    noHeaders: opts.headers === false,
    now: ctx.io.now(),
  };
}

/** `get -w`: the listing, then one line (or document) per change, until interrupted. */
async function watch(
  ctx: CliContext,
  client: ApiClient,
  targets: readonly Target[],
  format: OutputFormat,
  namespace: string | undefined,
  opts: GetOptions,
): Promise<void> {
  const names = targets.filter((t) => t.name !== undefined);
  if (kindsOf(targets).length > 1 || names.length > 1) {
    throw new CliError(
      'watch is only supported on individual resources and resource collections, and on one type',
    );
  }
  const target = targets[0]!;
  const def = target.def;
  const ns = def.namespaced ? namespace : undefined;
  const fieldSelector = joinSelectors(
    opts.fieldSelector,
    target.name !== undefined ? `metadata.name=${target.name}` : undefined,
  );
  let widths: number[] = [];
  let headerPrinted = false;
  let documents = 0;
  const print = (obj: ApiObject): void => {
    if (format === 'table' || format === 'wide') {
      const layout = tableLayout(def, tableOptions(ctx, format, opts, false));
      const table = formatTable(
        headerPrinted || opts.headers === false ? undefined : layout.headers,
        [layout.row(obj)],
        widths,
      );
      widths = table.widths;
      headerPrinted = true;
      ctx.out(table.lines.join('\n'));
    } else if (format === 'name') {
      ctx.out(qualifiedName(def, obj));
    } else if (format === 'json') {
      ctx.io.stdout.write(toJson(readableOrder(obj)));
    } else {
      ctx.io.stdout.write(`${documents++ > 0 ? '---\n' : ''}${toYaml(readableOrder(obj))}`);
    }
  };
  const keyOf = (obj: ApiObject): string =>
    `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
  const seen = new Map<string, ApiObject>();
  let synced = false;
  const { signal, release } = interruptSignal(ctx.io);
  try {
    for await (const event of listAndWatch(client, def, {
      namespace: ns,
      labelSelector: opts.selector,
      fieldSelector,
      signal,
    })) {
      if (event.type === 'SYNC') {
        if (
          !synced &&
          target.name !== undefined &&
          event.items.length === 0 &&
          !opts.ignoreNotFound
        ) {
          throw ApiError.notFound(
            def.group ? `${def.plural}.${def.group}` : def.plural,
            target.name,
          );
        }
        if (
          !synced &&
          event.items.length === 0 &&
          (format === 'table' || format === 'wide') &&
          target.name === undefined
        ) {
          ctx.err(noResourcesMessage(ns));
        }
        // After a re-list, print only what changed while we were not watching.
        const fresh = new Map(event.items.map((o) => [keyOf(o), o]));
        for (const [key, old] of seen) if (!fresh.has(key)) print(old);
        for (const obj of event.items) {
          const before = seen.get(keyOf(obj));
          if (!synced || before?.metadata.resourceVersion !== obj.metadata.resourceVersion)
            print(obj);
        }
        seen.clear();
        for (const [key, obj] of fresh) seen.set(key, obj);
        synced = true;
        continue;
      }
      if (event.type === 'DELETED') seen.delete(keyOf(event.object));
      else seen.set(keyOf(event.object), event.object);
      print(event.object);
    }
  } finally {
    release();
  }
}
