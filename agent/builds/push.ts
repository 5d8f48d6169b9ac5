/**
 * Pushing the built image to OUTPUT_IMAGE with OpenShift's progress lines in the build log
 * (`Pushed 2/5 layers, 41% complete`), then `Successfully pushed REPO@DIGEST` and
 * `Push successful`. The agent pushes with its own registry credentials, never the build's.
 * Any failure is PushImageToRegistryFailed: a failed push fails the build.
 */
import { isRuntimeError } from '../docker/errors.js';
import { splitReference, type PushProgress } from '../docker/build-engine.js';
import type { BuildContext } from './context.js';
import { registryAuthFor } from './registry-secrets.js';
import { BuildFailure } from './types.js';

/** Turns the engine's per-layer push messages into a line now and then. */
export class PushProgressLines {
  readonly #layers = new Map<string, { done: boolean; current: number; total: number }>();
  #lastLine = '';
  /** Layers keep appearing while a push runs: the percentage shown never goes back. */
  #percent = 0;
  #lastAt = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The last line returned by update(). */
  get lastLine(): string {
    return this.#lastLine;
  }

  /** A line to log, or undefined when nothing worth saying changed. */
  update(p: PushProgress): string | undefined {
    if (!p.id || !/^[0-9a-f]{6,}$/.test(p.id)) return undefined;
    const layer = this.#layers.get(p.id) ?? { done: false, current: 0, total: 0 };
    this.#layers.set(p.id, layer);
    if (
      p.status === 'Pushed' ||
      p.status === 'Layer already exists' ||
      // `Mounted from NS/NAME`: the layer is in another repository of the same registry.
      p.status.startsWith('Mounted from ')
    ) {
      layer.done = true;
    } else if (p.status === 'Pushing') {
      if (p.total) layer.total = Math.max(layer.total, p.total);
      if (p.current) layer.current = Math.max(layer.current, p.current);
    } else {
      return undefined;
    }
    const line = this.line();
    const changedCount = line.split(',')[0] !== this.#lastLine.split(',')[0];
    if (line === this.#lastLine || (!changedCount && this.#now() - this.#lastAt < 2000)) {
      return undefined;
    }
    this.#lastLine = line;
    this.#lastAt = this.#now();
    return line;
  }

  line(): string {
    const all = [...this.#layers.values()];
    const done = all.filter((l) => l.done).length;
    let total = 0;
    let current = 0;
    for (const l of all) {
      const size = Math.max(l.total, l.current, 1);
      total += size;
      current += l.done ? size : Math.min(l.current, size);
    }
    const percent = total === 0 ? 0 : Math.floor((current * 100) / total);
    this.#percent = Math.max(
      this.#percent,
      done === all.length && all.length > 0 ? 100 : Math.min(percent, 99),
    );
    return `Pushed ${done}/${all.length} layers, ${this.#percent}% complete`;
  }
}

/** Tags `imageId` as the output and pushes it; returns the digest. */
export async function pushOutput(
  ctx: BuildContext,
  imageId: string,
  output: string,
): Promise<string> {
  try {
    await ctx.docker.tagImage(imageId, output);
  } catch (err) {
    throw new BuildFailure(
      'PushImageToRegistryFailed',
      `cannot tag the image as ${output}: ${(err as Error).message}`,
    );
  }
  ctx.log.line(`Pushing image ${output} ...`);
  const progress = new PushProgressLines();
  let digest: string;
  try {
    ({ digest } = await ctx.docker.push(output, {
      auth: await registryAuthFor(ctx, output, {
        name: ctx.spec.build.spec.output?.pushSecret?.name,
        what: 'push',
      }),
      signal: ctx.signal,
      onProgress: (p) => {
        const line = progress.update(p);
        if (line) ctx.log.line(line);
      },
    }));
  } catch (err) {
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    if (isRuntimeError(err, 'EngineUnavailable')) throw err;
    const message = (err as Error).message.replace(/^push [^:]+: /, '');
    ctx.log.line(`Failed to push image ${output}: ${message}`);
    throw new BuildFailure(
      'PushImageToRegistryFailed',
      `Failed to push image ${output}: ${message}`,
    );
  }
  const last = progress.line();
  if (!last.startsWith('Pushed 0/0') && last !== progress.lastLine) ctx.log.line(last);
  ctx.log.line(`Successfully pushed ${splitReference(output).repo}@${digest}`);
  ctx.log.line('Push successful');
  return digest;
}
