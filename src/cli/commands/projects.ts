import type { Command } from 'commander';
import type { Project } from '../../api/index.js';
import { projectKind } from '../../api/kinds/index.js';
import type { CliContext } from '../context.js';
import { CliError, NOT_LOGGED_IN } from '../errors.js';
import { projectLines, projectNotFound } from './auth.js';

export function registerProjectCommands(program: Command, ctx: CliContext): void {
  program
    .command('new-project')
    .description('Create a new project and switch to it')
    .argument('<name>', 'project name (a DNS label: lower-case letters, digits and -)')
    .option('--display-name <text>', 'a human-friendly name')
    .option('--description <text>', 'what the project is for')
    .action(async (name: string, opts: { displayName?: string; description?: string }) => {
      const client = await ctx.client();
      const project = await client.createProjectRequest({
        name,
        displayName: opts.displayName,
        description: opts.description,
      });
      const created = project.metadata?.name ?? name;
      const config = await ctx.config();
      await ctx.saveConfig({ ...config, project: created });
      ctx.out(`Now using project "${created}" on server "${client.server}".`);
    });

  program
    .command('project')
    .description('Show the current project, or switch to another')
    .argument('[name]', 'project to switch to')
    .option('-q, --short', 'print only the project name')
    .action(async (name: string | undefined, opts: { short?: boolean }) => {
      const config = await ctx.config();
      if (!config.server || !config.token) throw new CliError(NOT_LOGGED_IN);
      const client = await ctx.client();
      if (!name) {
        const current = config.project;
        if (!current) {
          throw new CliError(
            'no project has been set; use "slipway project NAME" or "slipway new-project NAME"',
          );
        }
        try {
          await client.get(projectKind, current);
        } catch (err) {
          if (projectNotFound(err)) {
            throw new CliError(
              `the project "${current}" specified in your config does not exist on "${client.server}"`,
            );
          }
          throw err;
        }
        ctx.out(opts.short ? current : `Using project "${current}" on server "${client.server}".`);
        return;
      }
      try {
        await client.get(projectKind, name);
      } catch (err) {
        if (projectNotFound(err))
          throw new CliError(`A project named "${name}" does not exist on "${client.server}".`);
        throw err;
      }
      const already = config.project === name;
      await ctx.saveConfig({ ...config, project: name });
      if (opts.short) ctx.out(name);
      else if (already) ctx.out(`Already on project "${name}" on server "${client.server}".`);
      else ctx.out(`Now using project "${name}" on server "${client.server}".`);
    });

  program
    .command('projects')
    .description('List the projects you can use, marking the current one')
    .option('-q, --short', 'print only the project names')
    .action(async (opts: { short?: boolean }) => {
      const config = await ctx.config();
      const client = await ctx.client();
      const projects = (await client.list<Project>(projectKind)).items;
      if (opts.short) {
        for (const p of projects) ctx.out(p.metadata.name ?? '');
        return;
      }
      if (projects.length === 0) {
        ctx.out(
          "You are not a member of any projects. You can request a project to be created with the 'new-project' command.",
        );
        return;
      }
      const current = config.project;
      if (projects.length === 1 && projects[0]?.metadata.name === current) {
        ctx.out(`You have one project on this server: "${current}".\n`);
      } else {
        ctx.out(
          "You have access to the following projects and can switch between them with 'slipway project <projectname>':\n",
        );
        ctx.out(projectLines(projects, current));
      }
      if (current && projects.some((p) => p.metadata.name === current)) {
        ctx.out(`Using project "${current}" on server "${client.server}".`);
      }
    });
}
