/**
 * The composition root of the `slipway` command: the client commands from src/cli plus the
 * commands that run servers (`server`, `up`, `down`). Only this folder imports master/, agent/
 * and router/ together; they talk to each other over the HTTP API, never in-process.
 */
import { runCli, createProgram } from '../src/cli/index.js';
import { registerServerCommands } from './server-commands.js';
import { registerRouterCommand } from './router-command.js';

const program = createProgram();
registerServerCommands(program);
registerRouterCommand(program);
process.exitCode = await runCli(process.argv.slice(2), undefined, program);
