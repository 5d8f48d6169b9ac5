/**
 * The composition root of the `slipway` command: the client commands from src/cli plus the
 * commands that run servers (`server`, `up`, `down`, `agent`, `router`). Only this folder imports
 * master/, agent/ and router/ together; they talk to each other over the HTTP API, never
 * in-process. The server commands' modules (and the logger, the master's configuration) are
 * loaded only when the command line is not a client command, so client commands start faster.
 */
import { runCli, createProgram } from '../src/cli/index.js';

const argv = process.argv.slice(2);
const program = createProgram();
if (!isClientCommand(argv)) {
  const [{ registerServerCommands }, { registerRouterCommand }] = await Promise.all([
    import('./server-commands.js'),
    import('./router-command.js'),
  ]);
  registerServerCommands(program);
  registerRouterCommand(program);
}
process.exitCode = await runCli(argv, undefined, program);

/** Whether the first word of the command line names one of the program's (client) commands. */
function isClientCommand(args: readonly string[]): boolean {
  let word: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--config') {
      i += 1; // its value
      continue;
    }
    if (a.startsWith('-')) continue;
    word = a;
    break;
  }
  if (word === undefined) return false;
  return program.commands.some((c) => c.name() === word || c.aliases().includes(word));
}
