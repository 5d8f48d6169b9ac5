/**
 * `create route edge|passthrough|reencrypt [NAME] --service SVC`, as `oc create route`: a secured
 * route to a service, its certificate, key and CA certificates read from PEM files. The route is
 * the one `expose svc/SVC` would make (name, labels, port), with `spec.tls` added; the API server
 * checks the certificates (and says which field is wrong without printing them).
 */
import type { Command } from 'commander';
import type { Route, Service } from '../../api/index.js';
import { routeKind, serviceKind } from '../../api/kinds/index.js';
import type { CliContext } from '../context.js';
import { createNamespace } from './create-data.js';
import { CliError } from '../errors.js';
import { readFlagFile } from '../generate/data-sources.js';
import { routeForService } from '../generate/expose-objects.js';
import { qualifiedName } from '../resources.js';

type Termination = 'edge' | 'passthrough' | 'reencrypt';

interface CreateRouteOptions {
  service?: string;
  hostname?: string;
  path?: string;
  port?: string;
  cert?: string;
  key?: string;
  caCert?: string;
  destCaCert?: string;
  insecurePolicy?: string;
  wildcardPolicy?: string;
  namespace?: string;
}

const FILE_FLAGS = {
  cert: ['--cert', 'certificate'],
  key: ['--key', 'key'],
  caCert: ['--ca-cert', 'caCertificate'],
  destCaCert: ['--dest-ca-cert', 'destinationCACertificate'],
} as const;

/** Which PEM flags each termination takes (the API refuses the rest, but a flag is clearer). */
const ALLOWED: Record<Termination, readonly (keyof typeof FILE_FLAGS)[]> = {
  edge: ['cert', 'key', 'caCert'],
  passthrough: [],
  reencrypt: ['cert', 'key', 'caCert', 'destCaCert'],
};

function insecurePolicy(value: string | undefined): 'None' | 'Allow' | 'Redirect' | undefined {
  if (value === undefined) return undefined;
  const found = (['None', 'Allow', 'Redirect'] as const).find(
    (p) => p.toLowerCase() === value.toLowerCase(),
  );
  if (!found) throw new CliError(`--insecure-policy "${value}": must be None, Allow or Redirect`);
  return found;
}

export function registerCreateRouteCommand(create: Command, ctx: CliContext): void {
  const route = create
    .command('route')
    .description('Create a secured route: edge, passthrough or reencrypt');
  for (const termination of ['edge', 'passthrough', 'reencrypt'] as const) {
    const cmd = route
      .command(termination)
      .description(`Create a route with ${termination} TLS termination`)
      .argument('[name]', 'the route name (default: the service name)')
      .requiredOption('--service <name>', 'the service to route to')
      .option('--hostname <host>', 'the route host (default: NAME-PROJECT and the route subdomain)')
      .option('--path <path>', 'the route path (not for passthrough)')
      .option('--port <port>', 'the service port (name or number) to send to')
      .option('--insecure-policy <policy>', 'plain HTTP: None (default), Allow or Redirect')
      .option('--wildcard-policy <policy>', 'None (default) or Subdomain')
      .option('-n, --namespace <namespace>', 'the project (default: the current project)');
    for (const key of ALLOWED[termination]) {
      const [flag] = FILE_FLAGS[key];
      cmd.option(`${flag} <file>`, `PEM file: the route's ${FILE_FLAGS[key][1]}`);
    }
    cmd.action(async (name: string | undefined, opts: CreateRouteOptions) => {
      const namespace = await ctx.namespace(opts.namespace ?? createNamespace(create));
      const client = await ctx.client();
      const service = await client.get<Service>(serviceKind, opts.service!, { namespace });
      const base = routeForService(service, {
        name,
        hostname: opts.hostname,
        path: opts.path,
        port: opts.port,
        wildcardPolicy: opts.wildcardPolicy,
      });
      const tls: Record<string, string> = { termination };
      for (const key of ALLOWED[termination]) {
        const path = opts[key];
        const [flag, field] = FILE_FLAGS[key];
        if (path !== undefined) tls[field] = (await readFlagFile(flag, path)).toString('utf8');
      }
      const policy = insecurePolicy(opts.insecurePolicy);
      if (policy) tls.insecureEdgeTerminationPolicy = policy;
      const body: Route = { ...base, spec: { ...base.spec, tls: tls as Route['spec']['tls'] } };
      const created = await client.create<Route>(routeKind, body, { namespace });
      ctx.out(`${qualifiedName(routeKind, created)} created`);
    });
  }
}
