/**
 * `expose`: a Service becomes reachable through the router (a Route), a pod or a workload
 * gets a Service, as `oc expose` does. Kinds are resolved through the registry by the names
 * users type (`svc`, `dc`, `deployment`, `pod`, ...), and workloads are read generically.
 */
import type { Command } from 'commander';
import { ApiError, isApiError, type ApiObject, type Service } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseLabelPairs } from '../generate/source-arg.js';
import { routeForService, serviceForWorkload, WORKLOAD_KINDS } from '../generate/expose-objects.js';
import { formatStructured, parseOutputFormat } from '../printers.js';
import { parseTargets, qualifiedName, resolveKind } from '../resources.js';
import { collect } from './apply.js';

interface ExposeOptions {
  name?: string;
  hostname?: string;
  path?: string;
  port?: string;
  targetPort?: string;
  protocol?: string;
  selector?: string;
  type?: string;
  wildcardPolicy?: string;
  labels: string[];
  output?: string;
  dryRun?: boolean | string;
  namespace?: string;
}

/** `--dry-run`, `--dry-run=client` or `--dry-run=none`, as kubectl takes them. */
function dryRunOf(value: boolean | string | undefined): boolean {
  if (value === undefined || value === false || value === 'none') return false;
  if (value === true || value === 'client') return true;
  if (value === 'server')
    throw new CliError('--dry-run=server is not supported; use --dry-run=client');
  throw new CliError(`Invalid dry-run value (${value}). Must be "none", "server", or "client".`);
}

export function registerExposeCommand(program: Command, ctx: CliContext): void {
  program
    .command('expose')
    .description(
      'Expose a service as a route, or a pod or workload (dc, deployment, rc, rs) as a service',
    )
    .argument('<args...>', 'TYPE NAME or TYPE/NAME, e.g. svc/web, dc/web, pod/web-1')
    .option('--name <name>', "the name of the new route or service (default: the exposed object's)")
    .option('--hostname <host>', 'the route host (default: NAME-PROJECT and the route subdomain)')
    .option('--path <path>', 'the route path')
    .option(
      '--port <port>',
      'route: the service port (name or number) to send to; service: the port it serves on',
    )
    .option('--target-port <port>', 'service: the container port (name or number) to send to')
    .option('--protocol <protocol>', 'service: TCP (default), UDP or SCTP')
    .option('--selector <k=v>', "service: the pods to select (default: the workload's selector)")
    .option('--type <type>', 'service: ClusterIP (default), NodePort or LoadBalancer')
    .option('--wildcard-policy <policy>', 'route: None (default) or Subdomain')
    .option(
      '-l, --labels <k=v>',
      "labels of the new object (default: the exposed object's)",
      collect,
      [],
    )
    .option('-o, --output <format>', 'print the new object: json, yaml or name')
    .option('--dry-run [strategy]', 'only print what would be created (client)')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (args: string[], opts: ExposeOptions) => {
      const targets = parseTargets(ctx.registry, args);
      if (targets.length !== 1 || targets[0]!.name === undefined) {
        throw new CliError(
          targets.length > 1
            ? `multiple resources provided: ${args.join(' ')}`
            : 'expose needs one resource: TYPE NAME or TYPE/NAME, e.g. svc/web',
        );
      }
      const { def, name } = targets[0]!;
      const format = parseOutputFormat(opts.output);
      if (format === 'wide') throw new CliError(`--output ${opts.output}: use json, yaml or name`);
      const dryRun = dryRunOf(opts.dryRun);
      const labels = opts.labels.length > 0 ? parseLabelPairs(opts.labels) : undefined;
      const namespace = await ctx.namespace(opts.namespace);
      const client = await ctx.client();
      const exposed = await client.get<ApiObject>(def, name!, { namespace });

      let created: ApiObject;
      if (exposed.kind === 'Service') {
        for (const [flag, value] of [
          ['--target-port', opts.targetPort],
          ['--protocol', opts.protocol],
          ['--selector', opts.selector],
          ['--type', opts.type],
        ] as const) {
          if (value !== undefined)
            throw new CliError(
              `${flag} applies to exposing a workload as a service, not to routes`,
            );
        }
        created = routeForService(exposed as Service, {
          name: opts.name,
          hostname: opts.hostname,
          path: opts.path,
          port: opts.port,
          wildcardPolicy: opts.wildcardPolicy,
          labels,
        });
      } else if (WORKLOAD_KINDS.has(exposed.kind)) {
        for (const [flag, value] of [
          ['--hostname', opts.hostname],
          ['--path', opts.path],
          ['--wildcard-policy', opts.wildcardPolicy],
        ] as const) {
          if (value !== undefined)
            throw new CliError(`${flag} applies to routes: expose the service to make one`);
        }
        created = serviceForWorkload(exposed, {
          name: opts.name,
          port: opts.port,
          targetPort: opts.targetPort,
          protocol: opts.protocol,
          type: opts.type,
          selector: opts.selector ? parseLabelPairs([opts.selector]) : undefined,
          labels,
        });
      } else {
        throw new CliError(`cannot expose a ${exposed.kind}`);
      }

      const createdDef = resolveKind(ctx.registry, created.kind);
      if (!dryRun) {
        try {
          created = await client.create(createdDef, created, { namespace });
        } catch (err) {
          if (isApiError(err, 'AlreadyExists')) {
            throw new ApiError(
              'AlreadyExists',
              `${err.message}; choose another name with --name`,
              err.details ? { details: err.details } : {},
            );
          }
          throw err;
        }
      } else {
        created.metadata.namespace = namespace;
      }
      if (format === 'json' || format === 'yaml' || format === 'name') {
        ctx.io.stdout.write(formatStructured(format, [{ def: createdDef, obj: created }], true));
        return;
      }
      ctx.out(`${qualifiedName(createdDef, created)} exposed${dryRun ? ' (dry run)' : ''}`);
    });
}
