export { createProgram, runCli, contextOf } from './program.js';
export { CliContext } from './context.js';
export { CliError, formatError, NOT_LOGGED_IN } from './errors.js';
export { defaultConfigPath, readConfig, writeConfig, type SlipwayConfig } from './config.js';
export { processIo, resolveIo, type CliIo } from './io.js';
export { clientVersion } from './version.js';
