/**
 * `rollout latest|status|history|undo|pause|resume|restart|cancel`, as `oc rollout` has them for
 * DeploymentConfigs (`dc/NAME`) and `kubectl rollout` for Deployments (`deployment/NAME`).
 * The controller does the rollouts; these commands ask the API and watch.
 */
import type { Command } from 'commander';
import { type AnyKindDefinition, resourcePath, unlessNotFound } from '../../api/index.js';
import {
  deploymentConfigKind,
  deploymentKind,
  replicaSetKind,
  replicationControllerKind,
} from '../../api/kinds/index.js';
import {
  APPS_GROUP,
  DC_ANNOTATIONS,
  DC_REASONS,
  deploymentNameFor,
  deploymentPhaseOf,
  deploymentVersionOf,
  hasConfigChangeTrigger,
  isTerminatedPhase,
  type DeploymentConfig,
} from '../../api/kinds/deployment-config.js';
import { revisionOf, type Deployment } from '../../api/kinds/deployment.js';
import type { ReplicaSet } from '../../api/kinds/replica-set.js';
import type { ReplicationController } from '../../api/kinds/replication-controller.js';
import type { ApiClient } from '../../client/index.js';
import { parseDuration } from '../../util/duration.js';
import type { CliContext } from '../context.js';
import { DescribeWriter } from '../describe-writer.js';
import { describePodTemplate } from '../describe-deployments.js';
import { CliError } from '../errors.js';
import { interruptSignal } from '../io.js';
import { qualifiedName, resolveKind } from '../resources.js';
import {
  dcHistory,
  dcRolloutStatus,
  deploymentHistory,
  deploymentRolloutStatus,
  rollbackDeployment,
  rollbackDeploymentConfig,
  templateOf,
  type RolloutView,
} from '../rollouts.js';

interface Target {
  def: AnyKindDefinition;
  name: string;
}

/** `dc/NAME`, `deployment/NAME`, `TYPE NAME`, or (where `bare` allows) `NAME` for a dc. */
function target(
  ctx: CliContext,
  args: readonly string[],
  kinds: readonly AnyKindDefinition[],
  bare?: AnyKindDefinition,
): Target {
  let def: AnyKindDefinition | undefined;
  let name: string;
  const [first = '', second] = args;
  if (args.length === 0 || args.length > 2) {
    throw new CliError('give one resource: TYPE/NAME or TYPE NAME (e.g. dc/web)');
  }
  if (first.includes('/')) {
    if (second !== undefined) throw new CliError(`unexpected argument "${second}"`);
    const slash = first.indexOf('/');
    def = resolveKind(ctx.registry, first.slice(0, slash));
    name = first.slice(slash + 1);
  } else if (second !== undefined) {
    def = resolveKind(ctx.registry, first);
    name = second;
  } else {
    if (!bare) throw new CliError(`"${first}": give the resource as TYPE/NAME (e.g. dc/${first})`);
    def = bare;
    name = first;
  }
  if (!kinds.includes(def)) {
    const names = kinds.map((k) => k.shortNames[0] ?? k.plural).join(' or ');
    throw new CliError(`${def.plural} are not supported by this command; use ${names}`);
  }
  if (!name) throw new CliError('a resource name is required');
  return { def, name };
}

const BOTH = [deploymentConfigKind, deploymentKind];

async function ownedSets(
  client: ApiClient,
  namespace: string,
  owner: Deployment | DeploymentConfig,
): Promise<(ReplicationController | ReplicaSet)[]> {
  const uid = owner.metadata.uid;
  const list =
    owner.kind === 'DeploymentConfig'
      ? await client.list<ReplicationController>(replicationControllerKind, {
          namespace,
          labelSelector: `${DC_ANNOTATIONS.configName}=${owner.metadata.name ?? ''}`,
        })
      : await client.list<ReplicaSet>(replicaSetKind, { namespace });
  return list.items.filter((s) =>
    s.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid),
  );
}

/** The ReplicationController of version `version` of DeploymentConfig `name`, if there is one. */
async function versionRc(
  client: ApiClient,
  namespace: string,
  name: string,
  version: number,
): Promise<ReplicationController | undefined> {
  return unlessNotFound(
    client.get<ReplicationController>(replicationControllerKind, deploymentNameFor(name, version), {
      namespace,
    }),
  );
}

/** Asks for a new version of DeploymentConfig `name` (`latest`: with its triggers' images). */
async function instantiate(
  client: ApiClient,
  namespace: string,
  name: string,
  latest: boolean,
): Promise<void> {
  await client.request(
    'POST',
    resourcePath(deploymentConfigKind, { namespace, name, subresource: 'instantiate' }),
    {
      body: {
        kind: 'DeploymentRequest',
        apiVersion: `${APPS_GROUP}/v1`,
        name,
        latest,
        force: true,
      },
    },
  );
}

/** Runs `fn`; what it throws becomes the command's error (its message, without a stack). */
function asCliError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

function viewOf(ctx: CliContext, t: Target, obj: DeploymentConfig | Deployment): RolloutView {
  return t.def === deploymentConfigKind
    ? dcRolloutStatus(obj as DeploymentConfig, `slipway rollout resume dc/${t.name}`)
    : deploymentRolloutStatus(obj as Deployment);
}

async function rolloutStatus(
  ctx: CliContext,
  t: Target,
  opts: { namespace?: string; watch: boolean; revision?: string; timeout: string },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const revision = opts.revision === undefined ? 0 : Number(opts.revision);
  if (!Number.isInteger(revision) || revision < 0) {
    throw new CliError(`--revision "${opts.revision ?? ''}": expected a revision number`);
  }
  const timeoutMs = parseDuration(opts.timeout);
  const { signal, release } = interruptSignal(ctx.io);
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  let last = '';
  const show = (obj: DeploymentConfig | Deployment): boolean => {
    if (revision > 0) {
      const current =
        t.def === deploymentConfigKind
          ? ((obj as DeploymentConfig).status?.latestVersion ?? 0)
          : revisionOf(obj);
      if (current !== revision) {
        throw new CliError(
          `desired revision (${revision}) is different from the running revision (${current})`,
        );
      }
    }
    const view = viewOf(ctx, t, obj);
    if (view.error) throw new CliError(view.message);
    if (view.message !== last) {
      ctx.out(view.message);
      last = view.message;
    }
    return view.done;
  };
  try {
    for (;;) {
      const obj = await client.get<DeploymentConfig | Deployment>(t.def, t.name, {
        namespace,
        signal,
      });
      if (show(obj) || !opts.watch) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new CliError('timed out waiting for the rollout to finish');
      const watch = client.watch<DeploymentConfig | Deployment>(t.def, {
        namespace,
        fieldSelector: `metadata.name=${t.name}`,
        resourceVersion: obj.metadata.resourceVersion,
        timeoutSeconds: Math.max(1, Math.min(30, Math.ceil(remaining / 1000))),
        signal,
      });
      for await (const event of watch) {
        if (event.type === 'DELETED')
          throw new CliError(`${qualifiedName(t.def, t.name)} was deleted`);
        if (event.type !== 'ADDED' && event.type !== 'MODIFIED') continue;
        if (show(event.object)) return;
        if (Date.now() > deadline)
          throw new CliError('timed out waiting for the rollout to finish');
      }
      if (signal.aborted) throw new CliError('interrupted');
    }
  } finally {
    release();
  }
}

async function rolloutLatest(
  ctx: CliContext,
  t: Target,
  opts: { namespace?: string; again?: boolean },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const dc = await client.get<DeploymentConfig>(deploymentConfigKind, t.name, { namespace });
  if (dc.spec.paused) throw new CliError('cannot deploy a paused deployment config');
  const version = dc.status?.latestVersion ?? 0;
  const rc = version > 0 ? await versionRc(client, namespace, t.name, version) : undefined;
  if (rc) {
    const phase = deploymentPhaseOf(rc);
    if (!isTerminatedPhase(phase))
      throw new CliError(`#${version} is already in progress (${phase}).`);
  }
  await instantiate(client, namespace, t.name, !opts.again);
  ctx.out(`${qualifiedName(t.def, t.name)} rolled out`);
}

/** The pod-template annotation `rollout restart` sets, as kubectl does. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/**
 * `rollout restart`: a new rollout of the same release, by stamping the pod template with the
 * time (kubectl's way; the template changed, so every pod is replaced). A DeploymentConfig
 * without a ConfigChange trigger is also instantiated, since nothing else would roll it out.
 */
async function rolloutRestart(
  ctx: CliContext,
  t: Target,
  opts: { namespace?: string },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const obj = await client.get<DeploymentConfig | Deployment>(t.def, t.name, { namespace });
  const resource = qualifiedName(t.def, t.name);
  if (obj.spec.paused) throw new CliError(`${resource} is paused; resume it first`);
  const now = ctx.io
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  await client.patch(
    t.def,
    t.name,
    { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: now } } } } },
    { namespace },
  );
  if (t.def === deploymentConfigKind) {
    const triggers = (obj as DeploymentConfig).spec.triggers ?? [];
    if (!triggers.some((tr) => tr.type === 'ConfigChange')) {
      await instantiate(client, namespace, t.name, false);
    }
  }
  ctx.out(`${resource} restarted`);
}

async function rolloutHistory(
  ctx: CliContext,
  t: Target,
  opts: { namespace?: string; revision?: string },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const owner = await client.get<DeploymentConfig | Deployment>(t.def, t.name, { namespace });
  const sets = await ownedSets(client, namespace, owner);
  const isDc = t.def === deploymentConfigKind;
  if (opts.revision === undefined) {
    ctx.out(
      isDc
        ? dcHistory(t.name, sets as ReplicationController[])
        : deploymentHistory(t.name, sets as ReplicaSet[]),
    );
    return;
  }
  const revision = Number(opts.revision);
  const set = sets.find((s) =>
    isDc ? deploymentVersionOf(s) === revision : revisionOf(s) === revision,
  );
  if (!set) throw new CliError(`unable to find the specified revision ${opts.revision}`);
  const w = new DescribeWriter();
  describePodTemplate(w, isDc ? set.spec.template : templateOf(set as ReplicaSet));
  ctx.out(
    isDc
      ? `deploymentconfigs "${t.name}" with revision #${revision}`
      : `deployment.apps/${t.name} with revision #${revision}`,
  );
  ctx.io.stdout.write(w.render());
}

async function rolloutUndo(
  ctx: CliContext,
  t: Target,
  opts: { namespace?: string; toRevision?: string },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const toRevision = opts.toRevision === undefined ? 0 : Number(opts.toRevision);
  if (!Number.isInteger(toRevision) || toRevision < 0) {
    throw new CliError(`--to-revision "${opts.toRevision ?? ''}": expected a revision number`);
  }
  if (t.def === deploymentKind) {
    const d = await client.get<Deployment>(deploymentKind, t.name, { namespace });
    const sets = (await ownedSets(client, namespace, d)) as ReplicaSet[];
    const result = asCliError(() => rollbackDeployment(d, sets, toRevision));
    if ('skipped' in result) {
      ctx.out(`${qualifiedName(t.def, t.name)} ${result.skipped}`);
      return;
    }
    await client.update(deploymentKind, result.deployment, { namespace });
    ctx.out(`${qualifiedName(t.def, t.name)} rolled back`);
    return;
  }
  const dc = await client.get<DeploymentConfig>(deploymentConfigKind, t.name, { namespace });
  const revision = toRevision || (dc.status?.latestVersion ?? 0) - 1;
  if (revision <= 0) throw new CliError(`no previous rollout of "${t.name}" to roll back to`);
  const rc = await versionRc(client, namespace, t.name, revision);
  if (!rc) throw new CliError(`unable to find the specified revision ${revision}`);
  const rolled = asCliError(() => rollbackDeploymentConfig(dc, rc));
  await client.update(deploymentConfigKind, rolled.dc, { namespace });
  if (!hasConfigChangeTrigger(dc)) await instantiate(client, namespace, t.name, false);
  ctx.out(`${qualifiedName(t.def, t.name)} rolled back`);
  if (rolled.disabled.length > 0) {
    ctx.err(`Warning: the following images triggers were disabled: ${rolled.disabled.join(', ')}`);
    ctx.err(`  You can re-enable them with: slipway set triggers dc/${t.name} --auto`);
  }
}

async function setPaused(
  ctx: CliContext,
  t: Target,
  paused: boolean,
  opts: { namespace?: string },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const obj = await client.get<DeploymentConfig | Deployment>(t.def, t.name, { namespace });
  const resource =
    t.def === deploymentConfigKind ? `deploymentconfigs.${APPS_GROUP}` : 'deployments.apps';
  if (Boolean(obj.spec.paused) === paused) {
    throw new CliError(`${resource} "${t.name}" is ${paused ? 'already' : 'not'} paused`);
  }
  await client.patch(t.def, t.name, { spec: { paused } }, { namespace });
  ctx.out(`${qualifiedName(t.def, t.name)} ${paused ? 'paused' : 'resumed'}`);
}

async function rolloutCancel(
  ctx: CliContext,
  t: Target,
  opts: { namespace?: string },
): Promise<void> {
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const dc = await client.get<DeploymentConfig>(deploymentConfigKind, t.name, { namespace });
  const version = dc.status?.latestVersion ?? 0;
  const noRollout = (why: string): CliError =>
    new CliError(
      `unable to cancel ${qualifiedName(t.def, t.name)}: no rollout is in progress (${why})`,
    );
  if (version === 0) throw noRollout('nothing has been rolled out yet');
  const rc = await versionRc(client, namespace, t.name, version);
  if (!rc) throw noRollout(`rollout #${version} has not started`);
  const phase = deploymentPhaseOf(rc);
  if (isTerminatedPhase(phase))
    throw noRollout(`latest rollout #${version} ${phase.toLowerCase()}`);
  rc.metadata.annotations = {
    ...rc.metadata.annotations,
    [DC_ANNOTATIONS.cancelled]: 'true',
    [DC_ANNOTATIONS.statusReason]: DC_REASONS.cancelledByUser,
  };
  await client.update(replicationControllerKind, rc, { namespace });
  ctx.out(`${qualifiedName(t.def, t.name)} cancelling`);
}

export function registerRolloutCommands(program: Command, ctx: CliContext): void {
  const rollout = program
    .command('rollout')
    .description(
      'Start, watch, undo, pause and cancel rollouts of deployment configs and deployments',
    );
  const ns = '-n, --namespace <namespace>';
  const nsHelp = 'the project (default: the current project)';

  rollout
    .command('latest')
    .description('Start a new rollout of a deployment config with its latest images')
    .argument('<resource...>', 'dc/NAME or NAME')
    .option(ns, nsHelp)
    .option('--again', 'roll out the current template again, without resolving images')
    .action((args: string[], opts: { namespace?: string; again?: boolean }) =>
      rolloutLatest(ctx, target(ctx, args, [deploymentConfigKind], deploymentConfigKind), opts),
    );

  rollout
    .command('status')
    .description('Watch a rollout until it finishes; exit non-zero if it fails')
    .argument('<resource...>', 'dc/NAME or deployment/NAME')
    .option(ns, nsHelp)
    .option('-w, --watch [bool]', 'watch until the rollout ends', true)
    .option('--revision <n>', 'the revision to watch (fails if another is rolling out)')
    .option('--timeout <duration>', 'give up after this long (e.g. 5m); 0 waits on', '0s')
    .action(
      (
        args: string[],
        opts: { namespace?: string; watch: boolean | string; revision?: string; timeout: string },
      ) =>
        rolloutStatus(ctx, target(ctx, args, BOTH), {
          ...opts,
          watch: opts.watch !== false && opts.watch !== 'false',
        }),
    );

  rollout
    .command('history')
    .description('List the revisions of a rollout, or show one')
    .argument('<resource...>', 'dc/NAME or deployment/NAME')
    .option(ns, nsHelp)
    .option('--revision <n>', "show this revision's pod template")
    .action((args: string[], opts: { namespace?: string; revision?: string }) =>
      rolloutHistory(ctx, target(ctx, args, BOTH), opts),
    );

  rollout
    .command('undo')
    .description('Roll back to the previous revision (or --to-revision)')
    .argument('<resource...>', 'dc/NAME or deployment/NAME')
    .option(ns, nsHelp)
    .option('--to-revision <n>', 'the revision to roll back to (default: the previous one)')
    .action((args: string[], opts: { namespace?: string; toRevision?: string }) =>
      rolloutUndo(ctx, target(ctx, args, BOTH), opts),
    );

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    rollout
      .command(verb)
      .description(paused ? 'Stop rollouts until resumed' : 'Let rollouts happen again')
      .argument('<resource...>', 'dc/NAME or deployment/NAME')
      .option(ns, nsHelp)
      .action((args: string[], opts: { namespace?: string }) =>
        setPaused(ctx, target(ctx, args, BOTH), paused, opts),
      );
  }

  rollout
    .command('restart')
    .description('Replace every pod of the current release with new ones')
    .argument('<resource...>', 'dc/NAME or deployment/NAME')
    .option(ns, nsHelp)
    .action((args: string[], opts: { namespace?: string }) =>
      rolloutRestart(ctx, target(ctx, args, BOTH), opts),
    );

  rollout
    .command('cancel')
    .description('Cancel the rollout in progress; the previous version is scaled back up')
    .argument('<resource...>', 'dc/NAME or NAME')
    .option(ns, nsHelp)
    .action((args: string[], opts: { namespace?: string }) =>
      rolloutCancel(ctx, target(ctx, args, [deploymentConfigKind], deploymentConfigKind), opts),
    );
}
