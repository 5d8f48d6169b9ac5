/**
 * Scheduled image imports, as OpenShift's image import controller runs them: every stream tag
 * `from` a DockerImage with `importPolicy.scheduled: true` is imported again every interval
 * (default 15 minutes, OpenShift's minimum), through `POST .../imagestreamimports` like any
 * client. When the registry's image has changed, the tag's newest image moves (and ImageChange
 * triggers fire); an unchanged one adds nothing to the history. One stream at a time, so a
 * cluster with many scheduled tags spreads its registry reads over the interval's start.
 */
import type { ImageStream } from '../../../src/api/index.js';
import type { ImageImportSpec } from '../../../src/api/kinds/image-stream-import.js';
import type { Informer, Logger } from '../../../src/reconcile/index.js';

/** An ImageStreamImport body re-importing a stream's scheduled tags. */
export interface ScheduledImport {
  namespace: string;
  name: string;
  images: ImageImportSpec[];
}

/** What each stream's scheduled tags ask for; streams without any are left out. */
export function scheduledImports(streams: readonly ImageStream[]): ScheduledImport[] {
  const out: ScheduledImport[] = [];
  for (const is of streams) {
    if (is.metadata.deletionTimestamp) continue;
    const images: ImageImportSpec[] = [];
    for (const tag of is.spec?.tags ?? []) {
      if (tag.importPolicy?.scheduled !== true || tag.from?.kind !== 'DockerImage') continue;
      images.push({
        from: { kind: 'DockerImage', name: tag.from.name },
        to: { name: tag.name },
        importPolicy: tag.importPolicy,
        ...(tag.referencePolicy ? { referencePolicy: tag.referencePolicy } : {}),
      });
    }
    if (images.length > 0) {
      out.push({ namespace: is.metadata.namespace ?? '', name: is.metadata.name ?? '', images });
    }
  }
  return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

export interface ScheduledImportsOptions {
  imageStreams: Informer<ImageStream>;
  /** `POST .../imagestreamimports` with `spec.import`. */
  importImages(request: ScheduledImport, signal: AbortSignal): Promise<void>;
  intervalMs: number;
  logger: Logger;
}

export class ScheduledImportsController {
  readonly #options: ScheduledImportsOptions;
  readonly #log: Logger;

  constructor(options: ScheduledImportsOptions) {
    this.#options = options;
    this.#log = options.logger.child({ controller: 'scheduled-image-imports' });
  }

  /** One pass over every stream; failures are logged and retried at the next pass. */
  async runOnce(signal: AbortSignal): Promise<number> {
    let imported = 0;
    for (const request of scheduledImports(this.#options.imageStreams.list())) {
      if (signal.aborted) break;
      try {
        await this.#options.importImages(request, signal);
        imported += 1;
      } catch (err) {
        if (signal.aborted) break;
        this.#log.warn(
          { stream: `${request.namespace}/${request.name}`, err: (err as Error).message },
          'scheduled image import failed',
        );
      }
    }
    return imported;
  }

  /** Imports every interval until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.#options.imageStreams.waitForSync(signal))) return;
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.intervalMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (signal.aborted) return;
      await this.runOnce(signal);
    }
  }
}
