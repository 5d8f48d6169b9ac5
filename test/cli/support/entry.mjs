// Runs the built CLI (dist/) the way bin/slipway.js will: for tests before the composition root
// (cmd/slipway.ts) exists. Usage: node test/cli/support/entry.mjs ARGS...
import { runCli } from '../../../dist/src/cli/index.js';

process.exitCode = await runCli(process.argv.slice(2));
