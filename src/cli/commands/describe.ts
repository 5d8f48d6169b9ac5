import type { Command } from 'commander';
import { eventKind, podKind, type ApiObject, type Event, type Pod } from '../../api/index.js';
import { CLUSTER_EVENTS_NAMESPACE, type ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { describeObject, formatEvents, type Related } from '../describe.js';
import { deploymentRelated } from '../describe-deployments.js';
import { CliError } from '../errors.js';
import { parseTargets } from '../resources.js';
import { checkSelection, fetchTargets } from './get.js';
import type { AnyKindDefinition } from '../../api/index.js';
import { buildKind, endpointsKind } from '../../api/kinds/index.js';
import type { Endpoints } from '../../api/kinds/endpoints.js';
import type { Build } from '../../api/kinds/build.js';

/** The events about an object: by involvedObject name, kind and namespace. Problems reading
 * them (e.g. no permission) are not the describe's failure: there are just no events. */
export async function eventsFor(
  client: ApiClient,
  def: AnyKindDefinition,
  obj: ApiObject,
): Promise<Event[] | undefined> {
  const name = obj.metadata.name ?? '';
  const namespace = def.namespaced ? (obj.metadata.namespace ?? '') : '';
  const fieldSelector = [
    `involvedObject.name=${name}`,
    `involvedObject.kind=${def.kind}`,
    ...(namespace ? [`involvedObject.namespace=${namespace}`] : []),
  ].join(',');
  try {
    const list = await client.list<Event>(eventKind, {
      namespace: namespace || CLUSTER_EVENTS_NAMESPACE,
      fieldSelector,
    });
    return list.items;
  } catch {
    return undefined;
  }
}

/** A node's pods, for its Non-terminated Pods and Allocated resources; none when unreadable. */
async function relatedTo(
  ctx: CliContext,
  client: ApiClient,
  def: AnyKindDefinition,
  obj: ApiObject,
): Promise<Related> {
  if (def.kind === 'BuildConfig') {
    const server = (await ctx.config()).server;
    try {
      const labelSelector = `openshift.io/build-config.name=${obj.metadata.name ?? ''}`;
      const namespace = obj.metadata.namespace;
      return {
        server,
        builds: (await client.list<Build>(buildKind, { namespace, labelSelector })).items,
      };
    } catch {
      return { server };
    }
  }
  if (def.kind === 'DeploymentConfig' || def.kind === 'Deployment') {
    return deploymentRelated(client, obj);
  }
  if (def.kind === 'Service') {
    try {
      const endpoints = await client.get<Endpoints>(endpointsKind, obj.metadata.name ?? '', {
        namespace: obj.metadata.namespace,
      });
      return { endpoints };
    } catch {
      return {};
    }
  }
  if (def.kind !== 'Node') return {};
  try {
    const fieldSelector = `spec.nodeName=${obj.metadata.name ?? ''}`;
    return { pods: (await client.list<Pod>(podKind, { fieldSelector })).items };
  } catch {
    return {};
  }
}

export function registerDescribeCommand(program: Command, ctx: CliContext): void {
  program
    .command('describe')
    .description('Show details of a resource, with its events')
    .argument('[args...]', 'TYPE [NAME...] or TYPE/NAME...')
    .option('-n, --namespace <namespace>', 'the project to look in (default: the current project)')
    .option('-l, --selector <selector>', 'label selector')
    .action(async (args: string[], opts: { namespace?: string; selector?: string }) => {
      const targets = parseTargets(ctx.registry, args);
      if (targets.length === 0)
        throw new CliError(
          'you must specify the type of resource to describe; "slipway api-resources" lists the types',
        );
      checkSelection(targets, opts);
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const { groups, errors } = await fetchTargets(client, targets, {
        namespace,
        labelSelector: opts.selector,
      });
      const blocks: string[] = [];
      for (const { def, items } of groups) {
        for (const obj of items) {
          const related = await relatedTo(ctx, client, def, obj);
          let text = describeObject(def, obj, ctx.io.now(), related);
          if (def.kind !== 'Event') {
            const events = await eventsFor(client, def, obj);
            if (events) text += formatEvents(events, ctx.io.now());
          }
          blocks.push(text);
        }
      }
      if (blocks.length) ctx.io.stdout.write(blocks.join('\n\n'));
      else if (errors.length === 0) ctx.err(`No resources found in ${namespace} namespace.`);
      for (const err of errors) ctx.reportError(err);
    });
}
