/**
 * The pod a `logs`, `exec`, `rsh`, `port-forward` or `cp` argument means, as kubectl and oc pick
 * it: `NAME` or `pod/NAME` is that pod; a Service, DeploymentConfig, Deployment,
 * ReplicationController or ReplicaSet means one of the pods it selects, a ready running one
 * first, the oldest first (`Found 3 pods, using pod/web-1-x2k9d` when there are several).
 */
import { podKind } from '../api/kinds/index.js';
import { labelSelectorFromMap } from '../api/selectors.js';
import type { ApiObject, Pod, Service } from '../api/index.js';
import type { AnyKindDefinition } from '../api/registry.js';
import type { ApiClient } from '../client/index.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { selectorOf } from './generate/expose-objects.js';
import { resolveKind } from './resources.js';

/** Kinds whose objects select pods, by `GROUP/PLURAL`. */
const POD_SELECTING = new Set([
  '/services',
  '/replicationcontrollers',
  'apps/replicasets',
  'apps/deployments',
  'apps.openshift.io/deploymentconfigs',
]);

export interface PodArg {
  def: AnyKindDefinition;
  name: string;
}

function isPods(def: AnyKindDefinition): boolean {
  return def.group === '' && def.plural === 'pods';
}

/** `web-1`, `pod/web-1`, `svc/web`, `dc/web`...: what the argument names; checks the kind. */
export function parsePodArg(ctx: CliContext, arg: string, verb: string): PodArg {
  const slash = arg.indexOf('/');
  if (slash < 0) return { def: podKind, name: arg };
  const def = resolveKind(ctx.registry, arg.slice(0, slash));
  const name = arg.slice(slash + 1);
  if (!isPods(def) && !POD_SELECTING.has(`${def.group}/${def.plural}`)) {
    throw new CliError(
      `cannot ${verb} ${def.plural}; only pods and what selects them (services, deploymentconfigs, deployments, replicationcontrollers, replicasets) are supported`,
    );
  }
  if (!name) throw new CliError(`arguments in resource/name form must have a name: "${arg}"`);
  return { def, name };
}

function podReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The pod kubectl would pick: running and ready first, then running, the oldest first. */
export function choosePod(pods: readonly Pod[]): Pod | undefined {
  const rank = (p: Pod): number =>
    p.status?.phase === 'Running' ? (podReady(p) ? 0 : 1) : p.spec?.nodeName ? 2 : 3;
  return [...pods]
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
    )[0];
}

export interface ResolvedPod {
  /** The pod's name. */
  name: string;
  /** The pod, when it had to be read to be chosen. */
  pod?: Pod;
  /** The Service the argument named, if it named one. */
  service?: Service;
}

/** The pod `arg` means in `namespace`, reading the selecting object and its pods if needed. */
export async function resolvePod(
  ctx: CliContext,
  client: ApiClient,
  namespace: string,
  arg: PodArg,
): Promise<ResolvedPod> {
  if (isPods(arg.def)) return { name: arg.name };
  const obj = await client.get<ApiObject>(arg.def, arg.name, { namespace });
  let service: Service | undefined;
  let selector: Record<string, string>;
  if (arg.def.group === '' && arg.def.plural === 'services') {
    service = obj as Service;
    selector = { ...service.spec?.selector };
    if (Object.keys(selector).length === 0) {
      throw new CliError(`service "${arg.name}" has no selector: it names no pods`);
    }
  } else {
    selector = selectorOf(obj);
  }
  const pods = (
    await client.list<Pod>(podKind, { namespace, labelSelector: labelSelectorFromMap(selector) })
  ).items.filter((p) => !p.metadata.deletionTimestamp);
  const chosen = choosePod(pods);
  if (!chosen) throw new CliError(`no pods found for ${arg.def.singular}/${arg.name}`);
  const name = chosen.metadata.name ?? '';
  if (pods.length > 1) ctx.err(`Found ${pods.length} pods, using pod/${name}`);
  return { name, pod: chosen, ...(service ? { service } : {}) };
}
