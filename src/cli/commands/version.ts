import type { Command } from 'commander';
import { apiVersionOf, type AnyKindDefinition } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { toJson, toYaml } from '../printers.js';
import { formatTable } from '../table.js';
import { clientVersion } from '../version.js';

export function registerInfoCommands(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('Print the client version, and the server version when logged in')
    .option('--client', 'only the client version')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (opts: { client?: boolean; output?: string }) => {
      const output = opts.output?.replace(/^=/, '');
      if (output && output !== 'json' && output !== 'yaml') {
        throw new CliError(`--output must be 'yaml' or 'json'`);
      }
      const result: Record<string, unknown> = { clientVersion: { gitVersion: clientVersion() } };
      let failure: Error | undefined;
      const config = await ctx.config();
      if (!opts.client && config.server) {
        try {
          result.serverVersion = await ctx.newClient(config.server, config.token).version();
        } catch (err) {
          // Every client failure is an ApiError.
          failure = err as Error;
        }
      }
      if (output === 'json') ctx.io.stdout.write(toJson(result));
      else if (output === 'yaml') ctx.io.stdout.write(toYaml(result));
      else {
        ctx.out(`Client Version: ${clientVersion()}`);
        const server = result.serverVersion as { gitVersion?: string } | undefined;
        if (server) ctx.out(`Server Version: ${server.gitVersion ?? 'unknown'}`);
      }
      if (failure) throw failure;
    });

  program
    .command('api-resources')
    .description('List the resource types the platform serves, with their short names')
    .action(() => {
      const defs = [...ctx.registry.all()].sort((a: AnyKindDefinition, b: AnyKindDefinition) =>
        a.plural.localeCompare(b.plural),
      );
      const rows = defs.map((d) => [
        d.plural,
        d.shortNames.join(','),
        apiVersionOf(d),
        String(d.namespaced),
        d.kind,
      ]);
      ctx.out(
        formatTable(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'], rows).lines.join(
          '\n',
        ),
      );
    });
}
