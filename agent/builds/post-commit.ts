/**
 * The post-commit hook: a container of the new image, before it is pushed. `script` runs as
 * `/bin/sh -ic SCRIPT`; `command` replaces the image's entrypoint (with `args`); `args` alone go
 * to the image's entrypoint. Restricted like every build container; a non-zero exit is
 * PostCommitHookFailed and the image is not pushed.
 */
import type { BuildContext } from './context.js';
import { BuildFailure, type PostCommitSpec } from './types.js';

export function hasPostCommit(hook: PostCommitSpec | undefined): hook is PostCommitSpec {
  return (
    !!hook && (!!hook.script || (hook.command?.length ?? 0) > 0 || (hook.args?.length ?? 0) > 0)
  );
}

/** Entrypoint and command of the hook's container. */
export function hookCommand(hook: PostCommitSpec): { entrypoint?: string[]; cmd: string[] } {
  if (hook.script) return { entrypoint: ['/bin/sh', '-ic'], cmd: [hook.script] };
  if (hook.command?.length) return { entrypoint: hook.command, cmd: hook.args ?? [] };
  return { cmd: hook.args ?? [] };
}

export async function runPostCommit(
  ctx: BuildContext,
  imageId: string,
  user: string,
  env: string[],
): Promise<void> {
  const hook = ctx.spec.build.spec.postCommit;
  if (!hasPostCommit(hook)) return;
  ctx.log.line('Running post commit hook ...');
  const { entrypoint, cmd } = hookCommand(hook);
  const id = await ctx.docker.createContainer({
    pod: { uid: ctx.spec.podUid, namespace: ctx.spec.namespace, name: ctx.spec.podName },
    step: `${ctx.spec.containerName}-hook`,
    attempt: ctx.nextAttempt(),
    image: imageId,
    user,
    env,
    entrypoint,
    cmd,
    stdin: false,
    network: ctx.network.name,
    limits: ctx.limits,
  });
  try {
    const result = await ctx.docker.run(id, {
      signal: ctx.signal,
      onOutput: (_s, data) => ctx.log.output(data.toString('utf8')),
    });
    ctx.log.flush();
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    if (result.oomKilled) {
      throw new BuildFailure('OutOfMemoryKilled', 'the post-commit hook ran out of memory');
    }
    if (result.exitCode !== 0) {
      throw new BuildFailure(
        'PostCommitHookFailed',
        `the post-commit hook exited with code ${result.exitCode}`,
      );
    }
  } finally {
    await ctx.docker.removeContainer(id).catch(() => undefined);
  }
}
