import { describe, expect, it } from 'vitest';
import { builtinKinds } from './index.js';
import { validateObject } from '../validation.js';
import type { ApiError } from '../errors.js';
import {
  buildDisplayStatus,
  buildNumber,
  buildKind,
  parseBuildResult,
  type Build,
} from './build.js';
import { buildConfigKind, lastTriggeredImageID, type BuildConfig } from './build-config.js';
import { describeSourceShort } from './build-spec.js';
import { goDuration, humanDuration } from './time-columns.js';

const D = `sha256:${'a'.repeat(64)}`;

function bc(spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: { name: 'app', namespace: 'ns' },
    spec: {
      source: { git: { uri: 'https://git.example.com/app.git' } },
      strategy: {
        type: 'Source',
        sourceStrategy: { from: { kind: 'ImageStreamTag', name: 'nodejs:20' } },
      },
      output: { to: { kind: 'ImageStreamTag', name: 'app:latest' } },
      ...spec,
    },
  };
}

function causes(def: typeof buildConfigKind | typeof buildKind, obj: unknown): string[] {
  try {
    validateObject(def, obj);
    return [];
  } catch (err) {
    return ((err as ApiError).details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
  }
}

describe('BuildConfig validation', () => {
  it('accepts OpenShift BuildConfigs, with bare v1 too, and keeps unknown fields', () => {
    const obj = bc({
      triggers: [{ type: 'ConfigChange' }, { type: 'ImageChange', imageChange: {} }],
      mountTrustedCA: true,
    });
    const parsed = validateObject(buildConfigKind, {
      ...(obj as object),
      apiVersion: 'v1',
    }) as BuildConfig;
    expect(parsed.apiVersion).toBe('build.openshift.io/v1');
    expect((parsed.spec as unknown as Record<string, unknown>).mountTrustedCA).toBe(true);
    expect(builtinKinds().forUserName('bc')).toBe(buildConfigKind);
    expect(builtinKinds().forUserName('is')?.kind).toBe('ImageStream');
    expect(builtinKinds().forUserName('istag')?.kind).toBe('ImageStreamTag');
  });

  it('names each field at fault', () => {
    expect(causes(buildConfigKind, bc({ strategy: { type: 'Custom' } }))).toEqual([
      'spec.strategy.type: Unsupported value: "Custom": supported values: "Source", "Docker"',
    ]);
    expect(causes(buildConfigKind, bc({ strategy: { type: 'Source' } }))).toEqual([
      'spec.strategy.sourceStrategy: Required value',
    ]);
    expect(
      causes(
        buildConfigKind,
        bc({ strategy: { sourceStrategy: { from: { kind: 'ImageStreamTag', name: 'nodejs' } } } }),
      ),
    ).toEqual([
      'spec.strategy.sourceStrategy.from.name: Invalid value: "nodejs": must be of the form <stream>:<tag>',
    ]);
    expect(
      causes(buildConfigKind, bc({ output: { to: { kind: 'ImageStreamImage', name: 'a@b' } } }))[0],
    ).toContain('spec.output.to.kind: Unsupported value');
    expect(causes(buildConfigKind, bc({ runPolicy: 'Sometimes' }))[0]).toContain(
      'spec.runPolicy: Unsupported value',
    );
    expect(causes(buildConfigKind, bc({ triggers: [{ type: 'GitHub' }] }))).toEqual([
      'spec.triggers[0].github: Required value',
    ]);
    expect(causes(buildConfigKind, bc({ triggers: [{ type: 'Generic', generic: {} }] }))).toEqual([
      'spec.triggers[0].generic.secret: Required value: a secret or a secretReference is required',
    ]);
    expect(
      causes(
        buildConfigKind,
        bc({
          strategy: { type: 'Docker', dockerStrategy: {} },
          triggers: [{ type: 'ImageChange' }],
        }),
      )[0],
    ).toContain('spec.triggers[0].imageChange.from: Required value');
    expect(causes(buildConfigKind, bc({ successfulBuildsHistoryLimit: -1 }))[0]).toContain(
      'spec.successfulBuildsHistoryLimit',
    );
    expect(causes(buildConfigKind, bc({ source: { binary: { asFile: '../x' } } }))[0]).toContain(
      'spec.source.binary.asFile',
    );
    expect(
      causes(
        buildConfigKind,
        bc({
          strategy: { type: 'Docker', dockerStrategy: { dockerfilePath: '../../Dockerfile' } },
        }),
      )[0],
    ).toContain('spec.strategy.dockerStrategy.dockerfilePath');
  });

  it('runs the git checks (B2) on BuildConfigs and Builds', () => {
    expect(
      causes(buildConfigKind, bc({ source: { git: { uri: '--upload-pack=touch /tmp/x' } } }))[0],
    ).toMatch(/^spec\.source\.git\.uri: /);
    const build = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: { name: 'b-1', namespace: 'ns' },
      spec: {
        source: { git: { uri: 'https://x.example.com/r.git', ref: '-uevil' } },
        revision: { git: { commit: '--upload-pack=x' } },
        strategy: { type: 'Docker', dockerStrategy: {} },
      },
    };
    expect(causes(buildKind, build).map((c) => c.split(':')[0])).toEqual([
      'spec.source.git.ref',
      'spec.revision.git.commit',
    ]);
  });

  it('finds the last triggered image in status first, then in the trigger', () => {
    const obj = validateObject(
      buildConfigKind,
      bc({ triggers: [{ type: 'ImageChange', imageChange: { lastTriggeredImageID: 'old' } }] }),
    ) as BuildConfig;
    const trigger = obj.spec.triggers![0]!;
    expect(lastTriggeredImageID(obj, trigger)).toBe('old');
    obj.status = {
      imageChangeTriggers: [
        { from: { namespace: 'ns', name: 'nodejs:20' }, lastTriggeredImageID: 'new' },
      ],
    };
    expect(lastTriggeredImageID(obj, trigger)).toBe('new');
  });
});

describe('parseBuildResult', () => {
  it('reads the agent’s JSON and drops what fails its checks', () => {
    expect(
      parseBuildResult(
        JSON.stringify({
          message: 'pushed to https://u:p@reg/x',
          outputImageDigest: D,
          outputDockerImageReference: `127.0.0.1:5000/ns/app@${D}`,
          revision: { commit: 'abc1234', author: { name: 'A' } },
        }),
      ),
    ).toEqual({
      message: 'pushed to https://redacted@reg/x',
      outputImageDigest: D,
      outputDockerImageReference: `127.0.0.1:5000/ns/app@${D}`,
      revision: { commit: 'abc1234', author: { name: 'A' } },
    });
    expect(
      parseBuildResult(
        JSON.stringify({
          outputImageDigest: 'sha256:nothex',
          outputDockerImageReference: 'a b',
          revision: { commit: '-x' },
        }),
      ),
    ).toEqual({ revision: {} });
    expect(parseBuildResult('Completed')).toBeUndefined();
    expect(parseBuildResult('{broken')).toBeUndefined();
    expect(parseBuildResult(undefined)).toBeUndefined();
    expect(parseBuildResult('{"message": 3}')).toBeUndefined();
  });

  it('keeps the end of a log snippet, without URL credentials', () => {
    const logSnippet = `${'x'.repeat(5000)}\nfatal: https://u:p@git.example.com/x not found`;
    const parsed = parseBuildResult(JSON.stringify({ logSnippet }));
    expect(parsed?.logSnippet).toHaveLength(4096);
    expect(
      parsed?.logSnippet?.endsWith('\nfatal: https://redacted@git.example.com/x not found'),
    ).toBe(true);
  });
});

describe('get builds / get bc columns', () => {
  const now = new Date('2030-01-01T00:10:00Z');
  const build: Build = {
    apiVersion: 'build.openshift.io/v1',
    kind: 'Build',
    metadata: { name: 'app-3', annotations: { 'openshift.io/build.number': '3' } },
    spec: {
      source: { git: { uri: 'https://x/y.git', ref: 'main' } },
      revision: { git: { commit: '3f1c2a1b9d' } },
      strategy: { type: 'Source', sourceStrategy: { from: { kind: 'DockerImage', name: 'x' } } },
    },
    status: {
      phase: 'Failed',
      reason: 'FetchSourceFailed',
      startTimestamp: '2030-01-01T00:08:00Z',
      duration: 72e9,
    },
  };

  it('prints TYPE FROM STATUS STARTED DURATION as oc does', () => {
    const row = buildKind.columns.map((c) => c.value(build, now));
    expect(buildKind.columns.map((c) => c.header)).toEqual([
      'TYPE',
      'FROM',
      'STATUS',
      'STARTED',
      'DURATION',
    ]);
    expect(row).toEqual([
      'Source',
      'Git@3f1c2a1',
      'Failed (FetchSourceFailed)',
      '2 minutes ago',
      '1m12s',
    ]);
    expect(buildDisplayStatus({ ...build, status: { phase: 'Complete' } })).toBe('Complete');
    expect(buildNumber(build)).toBe(3);
    expect(describeSourceShort({ ...build.spec, revision: undefined })).toBe('Git@main');
    expect(describeSourceShort({ ...build.spec, source: { binary: {} } })).toBe('Binary');
  });

  it('prints TYPE FROM LATEST for build configs', () => {
    const obj = validateObject(buildConfigKind, bc({})) as BuildConfig;
    obj.status = { lastVersion: 4 };
    expect(buildConfigKind.columns.map((c) => c.value(obj, now))).toEqual(['Source', 'Git', '4']);
  });

  it('words durations as docker and Go do', () => {
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
    expect(humanDuration(500)).toBe('Less than a second');
    expect(goDuration(45_000)).toBe('45s');
    expect(goDuration(3_725_000)).toBe('1h2m5s');
  });
});
