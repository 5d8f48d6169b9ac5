import type { Command } from 'commander';
import { isApiError, type Project } from '../../api/index.js';
import { projectKind } from '../../api/kinds/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError, NOT_LOGGED_IN } from '../errors.js';

/**
 * `host:port` -> a URL. Loopback hosts default to http (the all-in-one master listens there in
 * plain HTTP), anything else to https, as oc does.
 */
export function normalizeServer(input: string): string {
  let text = input.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const host = text.replace(/^\[/, '').split(/[:/\]]/)[0] ?? '';
    const loopback =
      host === 'localhost' || host.startsWith('127.') || host === '::1' || text.startsWith('[::1]');
    text = `${loopback ? 'http' : 'https'}://${text}`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`"${input}" is not a valid server URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`"${input}" is not a valid server URL: use http:// or https://`);
  }
  if (url.username || url.password)
    throw new CliError('put credentials in --token, not in the server URL');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

async function listProjects(client: ApiClient): Promise<Project[]> {
  return (await client.list<Project>(projectKind)).items;
}

/** Picks the project to use after login: the current one if still there, `default`, or the only/first one. */
function chooseProject(
  projects: readonly Project[],
  current: string | undefined,
): string | undefined {
  const names = projects.map((p) => p.metadata.name ?? '');
  if (current && names.includes(current)) return current;
  if (names.includes('default')) return 'default';
  return names[0];
}

export function registerAuthCommands(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('Log in to a Slipway server with a token')
    .argument('[server]', 'server URL, e.g. http://127.0.0.1:8443 (default: the last one used)')
    .option('--token <token>', 'bearer token to authenticate with')
    .action(async (serverArg: string | undefined, opts: { token?: string }) => {
      const config = await ctx.config();
      const serverText = serverArg ?? config.server;
      if (!serverText)
        throw new CliError('a server URL is required: slipway login SERVER --token TOKEN');
      const server = normalizeServer(serverText);
      if (!opts.token) {
        throw new CliError(`a token is required to log in: slipway login ${server} --token TOKEN`);
      }
      const client = ctx.newClient(server, opts.token);
      const user = (await client.whoami()).metadata.name;
      const sameServer = config.server === server;
      let projects: Project[] | undefined;
      try {
        projects = await listProjects(client);
      } catch {
        projects = undefined;
      }
      const project = projects
        ? chooseProject(projects, sameServer ? config.project : undefined)
        : sameServer
          ? config.project
          : undefined;
      await ctx.saveConfig({ ...config, server, token: opts.token, user, project });
      ctx.out(`Logged into "${server}" as "${user}" using the token provided.\n`);
      if (!projects) return;
      if (projects.length === 0) {
        ctx.out(
          "You don't have any projects. You can try to create a new project, by running\n\n    slipway new-project <projectname>\n",
        );
      } else if (projects.length === 1) {
        ctx.out(`You have one project on this server: "${project}"\n\nUsing project "${project}".`);
      } else {
        ctx.out(
          "You have access to the following projects and can switch between them with 'slipway project <projectname>':\n",
        );
        ctx.out(projectLines(projects, project));
        ctx.out(`Using project "${project}".`);
      }
    });

  program
    .command('logout')
    .description('Forget the token of the current server')
    .action(async () => {
      const config = await ctx.config();
      if (!config.server || !config.token) throw new CliError(NOT_LOGGED_IN);
      const { token: _token, user, ...rest } = config;
      await ctx.saveConfig(rest);
      ctx.out(`Logged "${user ?? 'unknown'}" out on "${config.server}"`);
    });

  program
    .command('whoami')
    .description('Show the current user')
    .option('-t, --show-token', 'print the token the session uses')
    .option('--show-server', 'print the server the session talks to')
    .action(async (opts: { showToken?: boolean; showServer?: boolean }) => {
      const config = await ctx.config();
      if (!config.server || !config.token) throw new CliError(NOT_LOGGED_IN);
      if (opts.showToken || opts.showServer) {
        if (opts.showToken) ctx.out(config.token);
        if (opts.showServer) ctx.out(config.server);
        return;
      }
      const client = await ctx.client();
      ctx.out((await client.whoami()).metadata.name);
    });
}

/** `  * current` / `    other - Display Name` lines, as oc prints them. */
export function projectLines(projects: readonly Project[], current: string | undefined): string {
  const lines = projects.map((p) => {
    const name = p.metadata.name ?? '';
    const display = p.metadata.annotations?.['openshift.io/display-name'];
    return `  ${name === current ? '*' : ' '} ${name}${display && display !== name ? ` - ${display}` : ''}`;
  });
  return `${lines.join('\n')}\n`;
}

export function projectNotFound(err: unknown): boolean {
  return isApiError(err, 'NotFound') || isApiError(err, 'Forbidden');
}
