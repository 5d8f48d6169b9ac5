/**
 * Registry credentials of a build, as OpenShift's: the Source strategy's `pullSecret` for the
 * builder image, `output.pushSecret` for the push and for the previous output image an
 * incremental build reads. Each is a dockerconfigjson or dockercfg Secret of the build's project;
 * its entry for the image's registry is used (src/api/registry-credentials.ts). The node's own
 * credentials (BuildSettings.registryAuth, for the cluster registry) win where it has some.
 */
import { credentialsFor } from '../../src/api/index.js';
import type { RegistryAuth } from '../docker/build-engine.js';
import type { BuildContext } from './context.js';
import { BuildFailure } from './types.js';

/**
 * The credentials for `image`: the node's own where it has some (for the cluster registry),
 * else the Secret `secretName`'s (said in the log when unusable).
 */
export async function registryAuthFor(
  ctx: BuildContext,
  image: string,
  from: { name: string | undefined; what: string },
): Promise<RegistryAuth | undefined> {
  const own = await ctx.settings.registryAuth?.(image, ctx.signal);
  const { name: secretName, what } = from;
  if (own || !secretName) return own;
  let secret;
  try {
    secret = await ctx.api.secret(ctx.spec.namespace, secretName, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    throw new BuildFailure(
      'GenericBuildFailed',
      `cannot read the ${what} secret "${secretName}": ${(err as Error).message}`,
    );
  }
  if (!secret) {
    ctx.log.line(`Warning: the ${what} secret "${secretName}" does not exist; going on without it`);
    return undefined;
  }
  const credentials = credentialsFor(image, [secret]);
  if (!credentials) {
    ctx.log.line(
      `Warning: the ${what} secret "${secretName}" has no credentials for ${image}'s registry`,
    );
  }
  return credentials;
}
