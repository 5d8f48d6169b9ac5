import type { Command } from 'commander';
import {
  isApiError,
  nodeKind,
  podKind,
  projectKind,
  resourcePath,
  type Node,
  type Pod,
} from '../../api/index.js';
import { isSccName, PROJECT_SCC_ANNOTATION, projectSccName } from '../../api/scc.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
const UNMANAGED =
  'cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use --force to override)';
const UNMANAGED_WARNING =
  'deleting Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet';
const DAEMONSET = 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
const DAEMONSET_WARNING = 'ignoring DaemonSet-managed Pods';
const LOCAL_STORAGE =
  'cannot delete Pods with local storage (use --delete-emptydir-data to override)';
const LOCAL_STORAGE_WARNING = 'deleting Pods with local storage';
const POLL_MS = 250;

// ---------------------------------------------------------------------------------------------
// Durations

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's duration syntax as kubectl takes it: `90s`, `1m30s`, `2h`, `500ms`; `0` alone. */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (value === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== value.length)
    throw new CliError(`invalid duration "${text}": use a number with a unit, e.g. 90s or 5m`);
  return Math.round(total);
}

/** A duration as Go prints it: `1m0s`, `30s`, `1h30m0s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h) return `${h}h${m}m${rest}s`;
  if (m) return `${m}m${rest}s`;
  return `${rest}s`;
}

// ---------------------------------------------------------------------------------------------
// Policies

async function changeGrant(
  ctx: CliContext,
  scc: string,
  namespaceFlag: string | undefined,
  add: boolean,
): Promise<void> {
  if (!isSccName(scc)) {
    throw new CliError(
      `Slipway has no security policy "${scc}": it has restricted (every project's default) and anyuid`,
    );
  }
  if (scc === 'restricted') {
    throw new CliError(
      add
        ? 'restricted applies to every project without a grant; there is nothing to add'
        : 'restricted is the default of every project and cannot be removed',
    );
  }
  const client = await ctx.client();
  const namespace = await ctx.namespace(namespaceFlag);
  const project = await client.get(projectKind, namespace);
  const granted = projectSccName(project) === scc;
  if (add && granted) {
    ctx.out(`scc "${scc}" already added to project "${namespace}"`);
    return;
  }
  if (!add && !granted) {
    ctx.out(`scc "${scc}" is not added to project "${namespace}"`);
    return;
  }
  await client.patch(projectKind, namespace, {
    metadata: { annotations: { [PROJECT_SCC_ANNOTATION]: add ? scc : null } },
  });
  ctx.out(`scc "${scc}" ${add ? 'added to' : 'removed from'} project "${namespace}"`);
}

const PER_PROJECT =
  'Slipway grants security policies to projects, not to users or service accounts: use "slipway adm policy add-scc-to-project SCC -n PROJECT"';

function registerPolicyCommands(adm: Command, ctx: CliContext): void {
  const policy = adm
    .command('policy')
    .description('Grant security policies to projects')
    .helpCommand(false);
  policy
    .command('add-scc-to-project')
    .description("Grant a policy to a project's new pods (anyuid: the image's user, even root)")
    .argument('<scc>', 'the policy: anyuid')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (scc: string, opts: { namespace?: string }) => {
      await changeGrant(ctx, scc, opts.namespace, true);
    });
  policy
    .command('remove-scc-from-project')
    .description("Take a project's grant back: its new pods are restricted again")
    .argument('<scc>', 'the policy: anyuid')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (scc: string, opts: { namespace?: string }) => {
      await changeGrant(ctx, scc, opts.namespace, false);
    });
  for (const [verb, add] of [
    ['add-scc-to-group', true],
    ['remove-scc-from-group', false],
  ] as const) {
    policy
      .command(verb)
      .description(`OpenShift's form, for groups system:serviceaccounts:PROJECT only`)
      .argument('<scc>')
      .argument('<groups...>')
      .action(async (scc: string, groups: string[]) => {
        const projects = groups.map((g) => /^system:serviceaccounts:([a-z0-9-]+)$/.exec(g)?.[1]);
        if (projects.some((p) => p === undefined)) throw new CliError(PER_PROJECT);
        for (const p of projects) await changeGrant(ctx, scc, p, add);
      });
  }
  for (const verb of ['add-scc-to-user', 'remove-scc-from-user']) {
    policy
      .command(verb)
      .description("OpenShift's form; refused: Slipway grants policies per project")
      .argument('[args...]')
      .allowUnknownOption()
      .action(() => {
        throw new CliError(PER_PROJECT);
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Nodes

async function selectNodes(
  client: ApiClient,
  names: readonly string[],
  selector: string | undefined,
): Promise<Node[]> {
  if (names.length > 0 && selector)
    throw new CliError('name cannot be provided when a selector is specified');
  if (names.length === 0 && !selector)
    throw new CliError('a node name or a label selector (-l) is required');
  if (selector) return (await client.list<Node>(nodeKind, { labelSelector: selector })).items;
  const nodes: Node[] = [];
  for (const name of names) nodes.push(await client.get<Node>(nodeKind, name));
  return nodes;
}

/** kubectl's cordon/uncordon: `node/N cordoned`, or `node/N already cordoned`. */
async function setSchedulable(
  ctx: CliContext,
  client: ApiClient,
  node: Node,
  cordon: boolean,
): Promise<void> {
  const name = node.metadata.name ?? '';
  const word = cordon ? 'cordoned' : 'uncordoned';
  if (Boolean(node.spec?.unschedulable) === cordon) {
    ctx.out(`node/${name} already ${word}`);
    return;
  }
  await client.patch(nodeKind, name, { spec: { unschedulable: cordon ? true : null } });
  ctx.out(`node/${name} ${word}`);
}

function registerCordon(adm: Command, ctx: CliContext, cordon: boolean): void {
  const verb = cordon ? 'cordon' : 'uncordon';
  adm
    .command(verb)
    .description(
      cordon
        ? 'Mark nodes unschedulable: no new pods are placed on them'
        : 'Mark nodes schedulable again',
    )
    .argument('[nodes...]', 'node names')
    .option('-l, --selector <selector>', 'the nodes matching this label selector')
    .action(async (names: string[], opts: { selector?: string }) => {
      const client = await ctx.client();
      const nodes = await selectNodes(client, names, opts.selector);
      if (nodes.length === 0) ctx.err('No resources found');
      for (const node of nodes) {
        try {
          await setSchedulable(ctx, client, node, cordon);
        } catch (err) {
          ctx.reportError(err);
        }
      }
    });
}

export interface DrainOptions {
  force?: boolean;
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  deleteLocalData?: boolean;
}

export interface DrainPlan {
  /** Pods to delete, in order. */
  delete: Pod[];
  /** Category message -> `NS/NAME`s, for the pods that stop the drain. */
  errors: Map<string, string[]>;
  /** Category message -> `NS/NAME`s, for pods deleted or left with a warning. */
  warnings: Map<string, string[]>;
}

function add(map: Map<string, string[]>, key: string, pod: Pod): void {
  const list = map.get(key) ?? [];
  list.push(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`);
  map.set(key, list);
}

/**
 * kubectl's drain filters, in its order: finished pods go; mirror pods stay; DaemonSet pods stay
 * with --ignore-daemonsets and stop the drain otherwise; pods with emptyDir volumes need
 * --delete-emptydir-data; pods no controller manages need --force (nothing re-creates them).
 */
export function planDrain(pods: readonly Pod[], opts: DrainOptions): DrainPlan {
  const plan: DrainPlan = { delete: [], errors: new Map(), warnings: new Map() };
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      plan.delete.push(pod);
      continue;
    }
    if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) continue;
    const controller = pod.metadata.ownerReferences?.find((o) => o.controller === true);
    if (controller?.kind === 'DaemonSet') {
      if (opts.ignoreDaemonsets) add(plan.warnings, DAEMONSET_WARNING, pod);
      else add(plan.errors, DAEMONSET, pod);
      continue;
    }
    let ok = true;
    if ((pod.spec.volumes ?? []).some((v) => v.emptyDir !== undefined)) {
      if (opts.deleteEmptydirData || opts.deleteLocalData)
        add(plan.warnings, LOCAL_STORAGE_WARNING, pod);
      else {
        add(plan.errors, LOCAL_STORAGE, pod);
        ok = false;
      }
    }
    if (!controller) {
      if (opts.force) add(plan.warnings, UNMANAGED_WARNING, pod);
      else {
        add(plan.errors, UNMANAGED, pod);
        ok = false;
      }
    }
    if (ok) plan.delete.push(pod);
  }
  return plan;
}

function joinCategories(map: Map<string, string[]>): string {
  return [...map].map(([what, pods]) => `${what}: ${pods.join(', ')}`).join('; ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deletes a pod (with its uid as a precondition) and waits until it is gone. */
async function evict(
  client: ApiClient,
  pod: Pod,
  gracePeriod: number,
  deadline: number,
): Promise<boolean> {
  const namespace = pod.metadata.namespace ?? '';
  const name = pod.metadata.name ?? '';
  const uid = pod.metadata.uid;
  try {
    await client.request('DELETE', resourcePath(podKind, { namespace, name }), {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        ...(gracePeriod >= 0 ? { gracePeriodSeconds: gracePeriod } : {}),
        ...(uid ? { preconditions: { uid } } : {}),
      },
    });
  } catch (err) {
    // Gone already, or replaced by a pod of the same name: either way this one is evicted.
    if (!isApiError(err, 'NotFound') && !isApiError(err, 'Conflict')) throw err;
  }
  for (;;) {
    try {
      const now = await client.get<Pod>(podKind, name, { namespace });
      if (now.metadata.uid !== uid) return true;
    } catch (err) {
      if (isApiError(err, 'NotFound')) return true;
      throw err;
    }
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

async function drain(
  ctx: CliContext,
  nodeName: string,
  opts: DrainOptions & { gracePeriod: string; timeout: string },
): Promise<void> {
  const gracePeriod = Number(opts.gracePeriod);
  if (!Number.isInteger(gracePeriod) || gracePeriod < -1)
    throw new CliError(`invalid --grace-period "${opts.gracePeriod}": use whole seconds, or -1`);
  const timeoutMs = parseDuration(opts.timeout);
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  const client = await ctx.client();
  const node = await client.get<Node>(nodeKind, nodeName);
  await setSchedulable(ctx, client, node, true);

  const pending = (why: string): CliError => {
    ctx.err(
      `error: unable to drain node "${nodeName}" due to error: ${why}, continuing command...`,
    );
    ctx.err('There are pending nodes to be drained:');
    ctx.err(` ${nodeName}`);
    return new CliError(why);
  };
  const pods = (await client.list<Pod>(podKind, { fieldSelector: `spec.nodeName=${nodeName}` }))
    .items;
  const plan = planDrain(pods, opts);
  if (plan.errors.size > 0) throw pending(joinCategories(plan.errors));
  if (plan.warnings.size > 0) ctx.err(`WARNING: ${joinCategories(plan.warnings)}`);

  const results = await Promise.all(
    plan.delete.map(async (pod) => {
      ctx.out(`evicting pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`);
      const gone = await evict(client, pod, gracePeriod, deadline);
      if (gone) ctx.out(`pod/${pod.metadata.name ?? ''} evicted`);
      return gone;
    }),
  );
  if (results.some((gone) => !gone))
    throw pending(`global timeout reached: ${formatDuration(timeoutMs)}`);
  ctx.out(`node/${nodeName} drained`);
}

function registerNodeCommands(adm: Command, ctx: CliContext): void {
  registerCordon(adm, ctx, true);
  registerCordon(adm, ctx, false);
  adm
    .command('drain')
    .description(
      'Cordon a node, then delete its pods so their controllers re-create them elsewhere',
    )
    .argument('<node>', 'the node')
    .option('--force', 'also delete pods no controller manages (nothing re-creates them)')
    .option('--ignore-daemonsets', 'leave DaemonSet-managed pods where they are')
    .option('--delete-emptydir-data', 'also delete pods with emptyDir volumes (their data goes)')
    .option('--delete-local-data', 'the old name of --delete-emptydir-data')
    .option(
      '--grace-period <seconds>',
      "seconds each pod gets to terminate; -1 uses the pod's own",
      '-1',
    )
    .option('--timeout <duration>', 'give up after this long (e.g. 5m); 0 waits forever', '0s')
    .action(async (node: string, opts: DrainOptions & { gracePeriod: string; timeout: string }) => {
      await drain(ctx, node, opts);
    });
}

export function registerAdmCommands(program: Command, ctx: CliContext): void {
  const adm = program
    .command('adm')
    .description('Cluster administration: security policies of projects, cordon and drain nodes')
    .helpCommand(false);
  registerPolicyCommands(adm, ctx);
  registerNodeCommands(adm, ctx);
}
