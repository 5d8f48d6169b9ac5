import { describe, expect, it } from 'vitest';
import { builtinKinds, imageStreamKind } from '../../src/api/kinds/index.js';
import type { ImageStream } from '../../src/api/kinds/image-stream.js';
import type { ApiError } from '../../src/api/errors.js';
import { RegistryClient, RegistryError, type RegistryImage } from '../images/registry-client.js';
import { MemoryStore } from '../store/memory.js';
import { ImageImports } from './image-imports.js';
import { ResourceStore } from './resources.js';

// The registry is a fake here (what it has, by reference); test/cli/import-image.test.ts reads a
// real one.
const digest = (c: string): string => `sha256:${c.repeat(64)}`;

class FakeRegistry extends RegistryClient {
  readonly images = new Map<string, string>();
  /** Every reference looked up. */
  readonly asked: string[] = [];
  override inspect(ref: Parameters<RegistryClient['inspect']>[0]): Promise<RegistryImage> {
    const name = `${ref.registry}/${ref.repository}:${ref.tag ?? ''}`;
    this.asked.push(name);
    const found = this.images.get(name);
    if (!found)
      return Promise.reject(new RegistryError('NotFound', `${name}: not found in the registry`));
    return Promise.resolve({
      digest: found,
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      dockerImageReference: `${ref.registry}/${ref.repository}@${found}`,
      configDigest: digest('c'),
      config: { ExposedPorts: { '8080/tcp': {} } },
      size: 10,
      layers: [],
    });
  }
}

function setup() {
  const resources = new ResourceStore({ store: new MemoryStore(), registry: builtinKinds() });
  const registry = new FakeRegistry();
  const imports = new ImageImports(resources, registry, {
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  const ctx = { user: 'u', groups: [] };
  const request = (images: unknown[], doImport = true) =>
    imports.create(
      'ns',
      {
        kind: 'ImageStreamImport',
        apiVersion: 'image.openshift.io/v1',
        metadata: { name: 'app' },
        spec: { import: doImport, images },
      },
      ctx,
      () => undefined,
    );
  const stream = () => resources.get(imageStreamKind, 'ns', 'app') as Promise<ImageStream>;
  return { resources, registry, request, stream };
}

const from = (name: string, to?: string) => ({
  from: { kind: 'DockerImage', name },
  ...(to ? { to: { name: to } } : {}),
});

describe('ImageImports', () => {
  it('creates the stream with spec and status in one write, pinned by digest', async () => {
    const { registry, request, stream } = setup();
    registry.images.set('r.io/a:1', digest('1'));
    const answer = await request([from('r.io/a:1')]);
    expect(answer.status?.images?.[0]).toMatchObject({ status: { status: 'Success' }, tag: '1' });
    expect(answer.status?.images?.[0]?.image?.dockerImageMetadata.Config.ExposedPorts).toEqual({
      '8080/tcp': {},
    });
    const is = await stream();
    expect(is.metadata.generation).toBe(1);
    expect(is.spec?.tags).toEqual([
      {
        name: '1',
        from: { kind: 'DockerImage', name: 'r.io/a:1' },
        importPolicy: {},
        referencePolicy: { type: 'Source' },
        generation: 1,
      },
    ]);
    expect(is.status?.tags?.[0]?.items).toEqual([
      {
        created: '2026-01-01T00:00:00Z',
        dockerImageReference: `r.io/a@${digest('1')}`,
        image: digest('1'),
        generation: 1,
      },
    ]);
  });

  it('records what was found and reports what was not; nothing when nothing was found', async () => {
    const { registry, request, stream } = setup();
    registry.images.set('r.io/a:1', digest('1'));
    await request([from('r.io/a:1')]);
    registry.images.set('r.io/a:1', digest('2'));
    const answer = await request([from('r.io/a:1'), from('r.io/a:2', 'two')]);
    expect(
      answer.status?.images?.map((i) => [i.tag, i.status.status, i.status.reason, i.status.code]),
    ).toEqual([
      ['1', 'Success', undefined, 200],
      ['two', 'Failure', 'NotFound', 404],
    ]);
    let is = await stream();
    // Same spec: the generation stays; the tag's history grows, newest first.
    expect(is.metadata.generation).toBe(1);
    expect(is.spec?.tags?.map((t) => t.name)).toEqual(['1']);
    expect(is.status?.tags?.[0]?.items?.map((i) => [i.image, i.generation])).toEqual([
      [digest('2'), 1],
      [digest('1'), 1],
    ]);
    const version = is.metadata.resourceVersion;
    const none = await request([from('r.io/a:9')]);
    expect(none.status?.images?.[0]?.status.status).toBe('Failure');
    expect(none.status?.import).toBeUndefined();
    expect((await stream()).metadata.resourceVersion).toBe(version);

    // A tag's source changing bumps the generation it carries.
    registry.images.set('r.io/b:1', digest('3'));
    await request([from('r.io/b:1', '1')]);
    is = await stream();
    expect(is.metadata.generation).toBe(2);
    expect(is.spec?.tags?.[0]).toMatchObject({ from: { name: 'r.io/b:1' }, generation: 2 });
    expect(is.status?.tags?.[0]?.items?.[0]).toMatchObject({ image: digest('3'), generation: 2 });
  });

  it('only looks when not importing, and asks about rights only when it is', async () => {
    const { registry, request, resources } = setup();
    registry.images.set('r.io/a:1', digest('1'));
    const answer = await request([from('r.io/a:1')], false);
    expect(answer.status?.images?.[0]?.image?.dockerImageReference).toBe(`r.io/a@${digest('1')}`);
    await expect(resources.get(imageStreamKind, 'ns', 'app')).rejects.toMatchObject({ code: 404 });

    const imports = new ImageImports(resources, registry);
    const refuse = (): void => {
      throw new Error('forbidden');
    };
    const body = (doImport: boolean) => ({
      metadata: { name: 'app' },
      spec: { import: doImport, images: [from('r.io/a:1')] },
    });
    await expect(
      imports.create('ns', body(true), { user: 'u', groups: [] }, refuse),
    ).rejects.toThrow('forbidden');
    await expect(
      imports.create('ns', body(false), { user: 'u', groups: [] }, refuse),
    ).resolves.toBeDefined();
  });

  it('refuses images of registries imports may not read, before looking anything up', async () => {
    const resources = new ResourceStore({ store: new MemoryStore(), registry: builtinKinds() });
    const registry = new FakeRegistry();
    registry.images.set('r.io/a:1', digest('1'));
    registry.images.set('cluster:5000/ns/b:1', digest('2'));
    const imports = new ImageImports(resources, registry, {
      allowedRegistries: ['r.io'],
      clusterRegistry: 'cluster:5000',
    });
    const body = (...names: string[]) => ({
      metadata: { name: 'app' },
      spec: { import: false, images: names.map((n) => from(n)) },
    });
    const ctx = { user: 'u', groups: [] };
    const ok = await imports.create(
      'ns',
      body('r.io/a:1', 'cluster:5000/ns/b:1'),
      ctx,
      () => undefined,
    );
    expect(ok.status?.images?.map((i) => i.status.status)).toEqual(['Success', 'Success']);
    registry.asked.length = 0;
    const err = (await imports
      .create('ns', body('r.io/a:1', 'quay.io/x/y:1'), ctx, () => undefined)
      .catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe(422);
    expect(err.details?.causes).toEqual([
      {
        field: 'spec.images[1].from.name',
        message:
          'Forbidden: registry "quay.io" is not allowed for imports (allowed: r.io, cluster:5000)',
        reason: 'FieldValueForbidden',
      },
    ]);
    expect(registry.asked).toEqual([]);
  });

  it('refuses malformed requests naming the field', async () => {
    const { request } = setup();
    const cases: [unknown[], string][] = [
      [[{ from: { kind: 'ImageStreamTag', name: 'a:b' } }], 'spec.images[0].from.kind'],
      [[from('org/App')], 'spec.images[0].from.name'],
      [[from('r.io/a:1', 'bad tag')], 'spec.images[0].to.name'],
      [[from(`r.io/a@${digest('1')}`)], 'spec.images[0].to.name'],
      [[from('r.io/a:1'), from('r.io/b:1')], 'spec.images[1].to.name'],
      [Array.from({ length: 21 }, (_, i) => from(`r.io/a:${i}`)), 'spec.images'],
    ];
    for (const [images, field] of cases) {
      const err = (await request(images).catch((e: unknown) => e)) as ApiError;
      expect(err.code, field).toBe(422);
      expect(
        err.details?.causes?.map((c) => c.field),
        field,
      ).toContain(field);
    }
  });
});
