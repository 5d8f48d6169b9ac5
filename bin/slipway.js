#!/usr/bin/env node
// The `slipway` command. In a checkout, `npx slipway` runs it with the project's pinned Node.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `error: slipway needs Node.js 24 or newer, this is ${process.version}. ` +
      'In a checkout, run it as "npx slipway ..." (npm puts the project\'s own Node first).\n',
  );
  process.exit(1);
}
// Compiled code is cached on disk between runs (Node's own cache, in the temporary directory):
// every command starts faster after the first.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
try {
  await import('../dist/cmd/slipway.js');
} catch (err) {
  if (
    err &&
    err.code === 'ERR_MODULE_NOT_FOUND' &&
    String(err.message).includes('dist/cmd/slipway.js')
  ) {
    process.stderr.write(
      'error: slipway is not built yet; run "npm install" (or "npm run build") first.\n',
    );
    process.exit(1);
  }
  throw err;
}
