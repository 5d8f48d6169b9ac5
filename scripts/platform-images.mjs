#!/usr/bin/env node
// Builds every image `slipway up` needs for the platform (the registry's image, the S2I builder
// images) when missing or out of date, without starting anything; prints one line per image.
// Needs a built checkout (`npm run build`): it runs the same code as `slipway up`.
//
//   node scripts/platform-images.mjs
//
// Environment: DOCKER_HOST (engine), SLIPWAY_SKIP_PULL=1 (do not try `docker pull registry:2`).
import { existsSync } from 'node:fs';

const dist = new URL('../dist/agent/', import.meta.url);
if (!existsSync(new URL('platform/prepare.js', dist))) {
  console.error('platform-images: dist/ is missing; run "npm run build" first');
  process.exit(1);
}
/** @type {any} */
const prepare = await import(new URL('platform/prepare.js', dist).href);
/** @type {any} */
const paths = await import(new URL('platform/paths.js', dist).href);
/** @type {any} */
const engine = await import(new URL('docker/platform-engine.js', dist).href);
/** @type {any} */
const log = await import(new URL('../src/util/logger.js', dist).href);

const started = Date.now();
try {
  const result = await prepare.preparePlatformImages(
    engine.PlatformEngine.fromEndpoint(process.env.DOCKER_HOST),
    {
      paths: paths.platformPaths(),
      logger: log.silentLogger(),
      progress: (/** @type {string} */ message) => console.error(`platform-images: ${message}`),
      pull: process.env.SLIPWAY_SKIP_PULL !== '1',
    },
  );
  console.log(result.registryImage);
  for (const b of result.builders) {
    const how = b.built ? `built in ${(b.durationMs / 1000).toFixed(1)}s` : 'up to date';
    console.log(`${b.refs.join(' ')} (${how})`);
  }
  console.error(`platform-images: ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
} catch (err) {
  console.error(`platform-images: error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
