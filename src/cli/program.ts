import { Command, CommanderError } from 'commander';
import { registerAdmCommands } from './commands/adm.js';
import { registerCreateApplyCommands } from './commands/apply.js';
import { registerCreateDataCommands } from './commands/create-data.js';
import { registerCreateRouteCommand } from './commands/create-route.js';
import { registerAuthCommands } from './commands/auth.js';
import { registerBuildCommands } from './commands/builds.js';
import { registerDeleteCommand } from './commands/delete.js';
import { registerDescribeCommand } from './commands/describe.js';
import { registerCpCommand } from './commands/cp.js';
import { registerDebugCommand } from './commands/debug.js';
import { registerEditCommand } from './commands/edit.js';
import { registerExecCommands } from './commands/exec.js';
import { registerPortForwardCommand } from './commands/port-forward.js';
import { registerExposeCommand } from './commands/expose.js';
import { registerWaitCommand } from './commands/wait.js';
import { registerGetCommand } from './commands/get.js';
import { registerLabelCommands } from './commands/label.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerNewAppCommand } from './commands/new-app.js';
import { registerNewBuildCommand } from './commands/new-build.js';
import { registerPatchCommand } from './commands/patch.js';
import { registerStatusCommand } from './commands/status.js';
import { registerProcessCommand } from './commands/process.js';
import { registerProjectCommands } from './commands/projects.js';
import { registerRolloutCommands } from './commands/rollout.js';
import { registerScaleCommand } from './commands/scale.js';
import { registerSetCommands } from './commands/set.js';
import { registerImportImageCommand, registerTagCommand } from './commands/tag.js';
import { registerInfoCommands } from './commands/version.js';
import { CliContext } from './context.js';
import { CliError, formatError } from './errors.js';
import { resolveIo, type CliIo } from './io.js';
import { clientVersion } from './version.js';

const contexts = new WeakMap<Command, CliContext>();

/** The context a program was created with: for commands added from outside (up, down, master). */
export function contextOf(program: Command): CliContext {
  const ctx = contexts.get(program);
  if (!ctx) throw new Error('not a program made by createProgram');
  return ctx;
}

/**
 * The `slipway` command with every client command. Callers may add more commands before
 * `runCli`; their actions can throw CliError / ApiError for one-line errors, and reach the
 * config and io through `contextOf(program)`.
 */
export function createProgram(io?: Partial<CliIo>): Command {
  const ctx = new CliContext(resolveIo(io));
  const program = new Command('slipway');
  program
    .description("OpenShift's application workflow on plain Docker hosts")
    .version(clientVersion(), '--version', 'print the client version')
    .option(
      '--config <path>',
      'the CLI config file (default: $SLIPWAY_CONFIG or ~/.slipway/config)',
    )
    .helpCommand(true)
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: (text, write) => write(text.endsWith('\n') ? text : `${text}\n`),
    })
    .exitOverride()
    .hook('preAction', (_root, action) => {
      ctx.setConfigPath(action.optsWithGlobals<{ config?: string }>().config);
    });
  registerAuthCommands(program, ctx);
  registerProjectCommands(program, ctx);
  registerGetCommand(program, ctx);
  registerDescribeCommand(program, ctx);
  const create = registerCreateApplyCommands(program, ctx);
  registerCreateRouteCommand(create, ctx);
  registerCreateDataCommands(create, ctx);
  registerDeleteCommand(program, ctx);
  registerLabelCommands(program, ctx);
  registerScaleCommand(program, ctx);
  registerRolloutCommands(program, ctx);
  registerSetCommands(program, ctx);
  registerLogsCommand(program, ctx);
  registerExecCommands(program, ctx);
  registerPortForwardCommand(program, ctx);
  registerCpCommand(program, ctx);
  registerDebugCommand(program, ctx);
  registerEditCommand(program, ctx);
  registerNewAppCommand(program, ctx);
  registerNewBuildCommand(program, ctx);
  registerPatchCommand(program, ctx);
  registerStatusCommand(program, ctx);
  registerBuildCommands(program, ctx);
  registerTagCommand(program, ctx);
  registerImportImageCommand(program, ctx);
  registerInfoCommands(program, ctx);
  registerAdmCommands(program, ctx);
  registerProcessCommand(program, ctx);
  registerExposeCommand(program, ctx);
  registerWaitCommand(program, ctx);
  contexts.set(program, ctx);
  return program;
}

/**
 * Parses and runs one command line (without the node and script arguments) and returns the
 * exit code. Failures are one line on stderr, `error: ...` or kubectl's
 * `Error from server (Reason): ...`; no stack traces unless SLIPWAY_DEBUG is set.
 */
export async function runCli(
  argv: readonly string[],
  io?: Partial<CliIo>,
  program?: Command,
): Promise<number> {
  const prog = program ?? createProgram(io);
  const ctx = contextOf(prog);
  const dash = argv.indexOf('--');
  ctx.afterDoubleDash = dash < 0 ? [] : argv.slice(dash + 1);
  try {
    await prog.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help/version text).
      return err.exitCode;
    }
    ctx.err(formatError(err));
    if (ctx.io.env.SLIPWAY_DEBUG && err instanceof Error && !(err instanceof CliError))
      ctx.err(err.stack ?? '');
    return err instanceof CliError ? err.exitCode : 1;
  }
}
