import type { Command } from 'commander';
import type { AnyKindDefinition, ApiObject } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseTargets, qualifiedName } from '../resources.js';
import { checkSelection, fetchTargets, requireNameOrSelection } from './get.js';

/** The kinds with `spec.replicas` that `scale` changes. */
export const SCALABLE_KINDS: readonly string[] = [
  'ReplicationController',
  'ReplicaSet',
  'DeploymentConfig',
  'Deployment',
  'StatefulSet',
];

interface ScaleOptions {
  replicas?: string;
  currentReplicas: string;
  resourceVersion?: string;
  namespace?: string;
  selector?: string;
  all?: boolean;
}

function wholeNumber(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min) {
    throw new CliError(`invalid ${flag} "${value}": use a whole number of at least ${min}`);
  }
  return n;
}

/**
 * The merge patch that scales `obj` to `replicas`, after kubectl's preconditions: the current
 * replica count when `current` is 0 or more, and the resourceVersion (given, or the one read when
 * the count was checked), so a change in between is a conflict rather than lost.
 */
export function scalePatch(
  obj: ApiObject,
  replicas: number,
  current: number,
  resourceVersion: string | undefined,
): Record<string, unknown> {
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const actual = spec.replicas ?? 1;
  if (current >= 0 && actual !== current) {
    throw new CliError(`Expected replicas to be ${current}, was ${actual}`);
  }
  const rv = resourceVersion ?? (current >= 0 ? obj.metadata.resourceVersion : undefined);
  return {
    ...(rv ? { metadata: { resourceVersion: rv } } : {}),
    spec: { replicas },
  };
}

function checkScalable(def: AnyKindDefinition): void {
  if (!SCALABLE_KINDS.includes(def.kind)) {
    throw new CliError(`cannot scale ${def.plural}: the kind has no replicas to set`);
  }
}

export function registerScaleCommand(program: Command, ctx: CliContext): void {
  program
    .command('scale')
    .description(
      'Set the number of replicas of a ReplicationController, ReplicaSet, DeploymentConfig or Deployment',
    )
    .argument('<args...>', 'TYPE NAME... or TYPE/NAME...')
    .option('--replicas <count>', 'the new number of replicas (required)')
    .option(
      '--current-replicas <count>',
      'only scale when the current number of replicas is this (-1: any)',
      '-1',
    )
    .option('--resource-version <version>', 'only scale when the resource version is this')
    .option('-n, --namespace <namespace>', 'the project to look in (default: the current project)')
    .option(
      '-l, --selector <selector>',
      'scale everything of the type matching this label selector',
    )
    .option('--all', 'scale everything of the type in the project')
    .action(async (args: string[], opts: ScaleOptions) => {
      if (opts.replicas === undefined) {
        throw new CliError(
          'The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0',
        );
      }
      const replicas = wholeNumber(opts.replicas, '--replicas', 0);
      const current = wholeNumber(opts.currentReplicas, '--current-replicas', -1);
      const targets = parseTargets(ctx.registry, args);
      if (targets.length === 0) throw new CliError('no objects passed to scale');
      checkSelection(targets, opts);
      requireNameOrSelection(targets, opts);
      for (const t of targets) checkScalable(t.def);
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const { groups, errors } = await fetchTargets(client, targets, {
        namespace,
        labelSelector: opts.selector,
      });
      for (const err of errors) ctx.reportError(err);
      const objects = groups.flatMap(({ def, items }) => items.map((obj) => ({ def, obj })));
      if (objects.length === 0 && errors.length === 0) {
        throw new CliError('no objects passed to scale');
      }
      for (const { def, obj } of objects) {
        try {
          const patch = scalePatch(obj, replicas, current, opts.resourceVersion);
          await client.patch(def, obj.metadata.name ?? '', patch, {
            namespace: obj.metadata.namespace,
          });
          ctx.out(`${qualifiedName(def, obj)} scaled`);
        } catch (err) {
          ctx.reportError(err);
        }
      }
    });
}
