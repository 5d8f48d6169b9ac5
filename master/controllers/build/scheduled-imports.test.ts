import { describe, expect, it } from 'vitest';
import type { ImageStream } from '../../../src/api/index.js';
import type { Informer } from '../../../src/reconcile/index.js';
import { silentLogger } from '../../../src/util/logger.js';
import {
  scheduledImports,
  ScheduledImportsController,
  type ScheduledImport,
} from './scheduled-imports.js';

function stream(name: string, tags: NonNullable<ImageStream['spec']>['tags']): ImageStream {
  return {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name, namespace: 'team' },
    spec: { tags },
  };
}

const streams = [
  stream('web', [
    {
      name: 'latest',
      from: { kind: 'DockerImage', name: 'quay.io/team/web:latest' },
      importPolicy: { scheduled: true, insecure: true },
      referencePolicy: { type: 'Local' },
    },
    { name: 'pinned', from: { kind: 'DockerImage', name: 'quay.io/team/web:1' } },
    {
      name: 'follows',
      from: { kind: 'ImageStreamTag', name: 'web:latest' },
      importPolicy: { scheduled: true },
    },
  ]),
  stream('quiet', [{ name: 'v1', from: { kind: 'DockerImage', name: 'quay.io/team/quiet:v1' } }]),
  stream('api', [
    {
      name: 'v2',
      from: { kind: 'DockerImage', name: 'quay.io/team/api:v2' },
      importPolicy: { scheduled: true },
    },
  ]),
];

describe('scheduled image imports', () => {
  it('imports again only the scheduled tags that name an external image, per stream', () => {
    expect(scheduledImports(streams)).toEqual([
      {
        namespace: 'team',
        name: 'api',
        images: [
          {
            from: { kind: 'DockerImage', name: 'quay.io/team/api:v2' },
            to: { name: 'v2' },
            importPolicy: { scheduled: true },
          },
        ],
      },
      {
        namespace: 'team',
        name: 'web',
        images: [
          {
            from: { kind: 'DockerImage', name: 'quay.io/team/web:latest' },
            to: { name: 'latest' },
            importPolicy: { scheduled: true, insecure: true },
            referencePolicy: { type: 'Local' },
          },
        ],
      },
    ]);
  });

  it('goes on with the other streams when one import fails', async () => {
    const asked: string[] = [];
    const controller = new ScheduledImportsController({
      imageStreams: { list: () => streams } as unknown as Informer<ImageStream>,
      importImages: (request: ScheduledImport) => {
        asked.push(request.name);
        return request.name === 'api'
          ? Promise.reject(new Error('registry unreachable'))
          : Promise.resolve();
      },
      intervalMs: 1000,
      logger: silentLogger(),
    });
    expect(await controller.runOnce(new AbortController().signal)).toBe(1);
    expect(asked).toEqual(['api', 'web']);
  });
});
