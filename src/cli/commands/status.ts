/**
 * `status`: the current project as a graph (routes -> services -> deployment configs -> image
 * stream tags <- build configs), with the latest builds and rollouts, and what to look at next.
 */
import type { Command } from 'commander';
import { isApiError, type AnyKindDefinition, type ApiObject } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { projectStatus, type ProjectObjects } from '../status-graph.js';

/** The kinds `status` reads, by the names users type; a kind the server lacks is left out. */
const KINDS: Record<keyof ProjectObjects, string> = {
  routes: 'routes',
  services: 'services',
  deploymentConfigs: 'deploymentconfigs',
  replicationControllers: 'replicationcontrollers',
  buildConfigs: 'buildconfigs',
  builds: 'builds',
  pods: 'pods',
};

async function listOrEmpty(
  client: ApiClient,
  def: AnyKindDefinition | undefined,
  namespace: string,
): Promise<ApiObject[]> {
  if (!def) return [];
  try {
    return (await client.list(def, { namespace })).items;
  } catch (err) {
    if (isApiError(err) && (err.code === 404 || err.code === 403)) return [];
    throw err;
  }
}

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('Show an overview of the current project')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--suggest', 'explain each suggestion and how to act on it')
    .action(async (opts: { namespace?: string; suggest?: boolean }) => {
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const config = await ctx.config();
      const entries = await Promise.all(
        Object.entries(KINDS).map(async ([field, kind]) => [
          field,
          await listOrEmpty(client, ctx.registry.forUserName(kind), namespace),
        ]),
      );
      const objects = Object.fromEntries(entries) as ProjectObjects;
      const report = projectStatus(objects, namespace, config.server ?? '', new Date());
      for (const line of report.lines) ctx.out(line);
      const { suggestions } = report;
      if (suggestions.length === 0) return;
      ctx.out('');
      if (opts.suggest) {
        for (const s of suggestions)
          ctx.out(
            `${s.severity === 'info' ? 'Info' : s.severity === 'warning' ? 'Warning' : 'Error'}:\n  * ${s.text.replaceAll('\n', '\n    ')}`,
          );
        return;
      }
      const counts = (['error', 'warning', 'info'] as const)
        .map((sev) => {
          const n = suggestions.filter((s) => s.severity === sev).length;
          return n === 0 ? '' : `${n} ${sev}${n === 1 ? '' : 's'}`;
        })
        .filter(Boolean);
      // Errors and warnings are shown at once; infos wait for --suggest, as oc does.
      for (const s of suggestions.filter((x) => x.severity !== 'info')) {
        ctx.out(
          `${s.severity === 'error' ? 'Errors' : 'Warnings'}:\n  * ${s.text.replaceAll('\n', '\n    ')}`,
        );
      }
      ctx.out(`${counts.join(', ')} identified, use 'slipway status --suggest' to see details.`);
    });
}
