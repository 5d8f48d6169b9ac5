import type { Command } from 'commander';
import {
  isApiError,
  resourcePath,
  type AnyKindDefinition,
  type ApiObject,
} from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { readManifests } from '../manifests.js';
import { parseTargets, resourceName } from '../resources.js';
import { parseDuration } from './adm.js';
import { collect, kindOf, namespaceOf } from './apply.js';
import { checkSelection, requireNameOrSelection } from './get.js';

export const IMMEDIATE_DELETION_WARNING =
  'Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.';
const FORCE_IGNORED_WARNING = 'Warning: --force is ignored because --grace-period is not 0.';
const WAIT_POLL_MS = 200;

interface DeleteOptions {
  filename: string[];
  namespace?: string;
  selector?: string;
  fieldSelector?: string;
  all?: boolean;
  ignoreNotFound?: boolean;
  gracePeriod: string;
  force?: boolean;
  now?: boolean;
  wait: boolean | string;
  timeout: string;
  cascade: boolean | string;
}

export type Cascade = 'background' | 'orphan' | 'foreground';

/** kubectl's `--cascade`: background (default), orphan or foreground; the old booleans too. */
export function resolveCascade(value: boolean | string, warn: (text: string) => void): Cascade {
  const text = String(value);
  if (text === 'background' || text === 'orphan' || text === 'foreground') return text;
  if (text === 'true' || text === 'false') {
    const replacement = text === 'true' ? 'background' : 'orphan';
    warn(
      `warning: --cascade=${text} is deprecated (boolean value) and can be replaced with --cascade=${replacement}.`,
    );
    return replacement;
  }
  throw new CliError(
    `invalid cascade value (${text}). Must be "background", "foreground", or "orphan".`,
  );
}

/**
 * The grace period to send (-1: the object's own) as kubectl settles it: `--now` is 1,
 * `--grace-period=0` without `--force` becomes 1, `--force` alone is 0. Warnings go to stderr.
 */
export function resolveGracePeriod(
  opts: Pick<DeleteOptions, 'gracePeriod' | 'force' | 'now'>,
  warn: (text: string) => void,
): number {
  let grace = Number(opts.gracePeriod);
  if (!/^-?\d+$/.test(opts.gracePeriod.trim()) || grace < -1)
    throw new CliError(`invalid --grace-period "${opts.gracePeriod}": use whole seconds, or -1`);
  if (opts.now) {
    if (grace !== -1) throw new CliError('--now and --grace-period cannot be specified together');
    grace = 1;
  }
  if (grace === 0 && !opts.force) grace = 1;
  if (opts.force && grace < 0) grace = 0;
  if (opts.force) warn(grace === 0 ? IMMEDIATE_DELETION_WARNING : FORCE_IGNORED_WARNING);
  return grace;
}

function parseWait(value: boolean | string): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new CliError(`invalid --wait "${String(value)}": use true or false`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once the object with this uid is gone (or replaced by another of the same name);
 * false at the deadline. */
async function waitUntilGone(
  client: ApiClient,
  target: { def: AnyKindDefinition; name: string; namespace: string | undefined },
  uid: string | undefined,
  deadline: number,
): Promise<boolean> {
  for (;;) {
    try {
      const now = await client.get(target.def, target.name, { namespace: target.namespace });
      if (uid !== undefined && now.metadata.uid !== uid) return true;
    } catch (err) {
      if (isApiError(err, 'NotFound')) return true;
      // As kubectl: not being allowed to look is no reason to fail the delete.
      if (isApiError(err, 'Forbidden') || isApiError(err, 'MethodNotAllowed')) return true;
      throw err;
    }
    if (Date.now() >= deadline) return false;
    await sleep(WAIT_POLL_MS);
  }
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
    .option(
      '--grace-period <seconds>',
      "seconds a pod gets to stop; -1 uses the pod's own, 0 only with --force",
      '-1',
    )
    .option('--now', 'stop pods at once (a grace period of 1)')
    .option(
      '--force',
      "with --grace-period=0 (its default): remove at once, without the node's confirmation",
    )
    .option(
      '--wait [bool]',
      'wait until the objects are gone (a pod: until its node has stopped it); --wait=false returns at once',
      true,
    )
    .option('--timeout <duration>', 'give up waiting after this long (e.g. 60s); 0 waits on', '0s')
    .option(
      '--cascade [strategy]',
      'background: dependents (the pods of a replication controller) are deleted after the object; orphan: they are left, without their owner',
      'background',
    )
    .action(async (args: string[], opts: DeleteOptions) => {
      const wait = parseWait(opts.wait);
      const timeoutMs = parseDuration(opts.timeout);
      const grace = resolveGracePeriod(opts, (text) => ctx.err(text));
      const cascade = resolveCascade(opts.cascade, (text) => ctx.err(text));
      const namespace = await ctx.namespace(opts.namespace);
      const work: {
        def: AnyKindDefinition;
        name: string;
        namespace: string | undefined;
        /** Found by a selector or --all: gone meanwhile (a cascade) is not an error, as kubectl. */
        listed?: boolean;
      }[] = [];
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
        requireNameOrSelection(targets, opts);
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
            work.push({ def: t.def, name: item.metadata.name ?? '', namespace: ns, listed: true });
        }
        if (work.length === 0) {
          ctx.err('No resources found');
          return;
        }
      }
      const deleted: { target: (typeof work)[number]; uid: string | undefined }[] = [];
      for (const target of work) {
        const { def, name, namespace: ns } = target;
        try {
          const answer =
            cascade === 'background'
              ? await client.delete(def, name, {
                  namespace: ns,
                  ...(grace >= 0 ? { gracePeriodSeconds: grace } : {}),
                })
              : await client.request<ApiObject>(
                  'DELETE',
                  resourcePath(def, { namespace: ns, name }),
                  {
                    body: {
                      apiVersion: 'v1',
                      kind: 'DeleteOptions',
                      propagationPolicy: cascade === 'orphan' ? 'Orphan' : 'Foreground',
                      ...(grace >= 0 ? { gracePeriodSeconds: grace } : {}),
                    },
                  },
                );
          ctx.out(`${resourceName(def)} "${name}" ${grace === 0 ? 'force deleted' : 'deleted'}`);
          deleted.push({ target, uid: (answer as ApiObject).metadata?.uid });
        } catch (err) {
          if ((opts.ignoreNotFound || target.listed) && isApiError(err, 'NotFound')) continue;
          ctx.reportError(err);
        }
      }
      if (!wait) return;
      // As kubectl: a pod is gone once its node has stopped it and confirmed.
      const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
      for (const { target, uid } of deleted) {
        try {
          if (!(await waitUntilGone(client, target, uid, deadline))) {
            ctx.reportError(
              new CliError(
                `timed out waiting for the condition on ${target.def.plural}/${target.name}`,
              ),
            );
          }
        } catch (err) {
          ctx.reportError(err);
        }
      }
    });
}
