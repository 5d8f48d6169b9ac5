import { describe, expect, it } from 'vitest';
import type { Build } from '../api/kinds/build.js';
import type { BuildConfig } from '../api/kinds/build-config.js';
import { DescribeWriter } from './describe-writer.js';
import {
  describeBuild,
  describeBuildConfig,
  formatDuration,
  webhookUrl,
} from './describe-builds.js';

const now = new Date('2026-01-01T00:10:00Z');

describe('build descriptions', () => {
  it('formats durations as oc does', () => {
    expect(formatDuration(undefined)).toBe('');
    expect(formatDuration(5e9)).toBe('5s');
    expect(formatDuration(80e9)).toBe('1m20s');
    expect(formatDuration(3_725e9)).toBe('1h2m5s');
  });

  it('shows webhook URLs without their secrets', () => {
    const bc: BuildConfig = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'BuildConfig',
      metadata: { name: 'web', namespace: 'p1' },
      spec: {
        source: { git: { uri: 'https://git.example/web.git', ref: 'main' } },
        strategy: {
          type: 'Source',
          sourceStrategy: {
            from: { kind: 'ImageStreamTag', namespace: 'openshift', name: 'nodejs:latest' },
          },
        },
        output: { to: { kind: 'ImageStreamTag', name: 'web:latest' } },
        triggers: [
          { type: 'GitHub', github: { secret: 'topsecret1' } },
          { type: 'Generic', generic: { secret: 'topsecret2' } },
        ],
      },
      status: { lastVersion: 2 },
    };
    const w = new DescribeWriter();
    describeBuildConfig(w, bc, now, { server: 'http://127.0.0.1:8443', builds: [] });
    const text = w.render();
    expect(text).toContain(webhookUrl('http://127.0.0.1:8443', 'p1', 'web', 'github'));
    expect(text).toContain('/buildconfigs/web/webhooks/<secret>/generic');
    expect(text).not.toContain('topsecret');
    expect(text).toMatch(/Latest Version:\s+2/);
    expect(text).toMatch(/From Image:\s+ImageStreamTag openshift\/nodejs:latest/);
  });

  it('shows a failed build with its reason, revision and log tail', () => {
    const build: Build = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: {
        name: 'web-1',
        namespace: 'p1',
        annotations: { 'openshift.io/build-config.name': 'web' },
      },
      spec: {
        source: { git: { uri: 'https://git.example/web.git' } },
        strategy: {
          type: 'Source',
          sourceStrategy: { from: { kind: 'DockerImage', name: 'b:1' } },
        },
        revision: {
          type: 'Git',
          git: { commit: '0123456789abcdef', message: 'fix it\nmore', author: { name: 'Ann' } },
        },
        triggeredBy: [{ message: 'Manually triggered' }],
      },
      status: {
        phase: 'Failed',
        reason: 'GenericBuildFailed',
        message: 'Generic Build failure - check logs for details.',
        startTimestamp: '2026-01-01T00:00:00Z',
        duration: 42e9,
        logSnippet: 'npm ERR! missing script',
      },
    };
    const w = new DescribeWriter();
    describeBuild(w, build, now);
    const text = w.render();
    expect(text).toMatch(/Status:\s+Failed \(Generic Build failure/);
    expect(text).toMatch(/Duration:\s+42s/);
    expect(text).toMatch(/Commit:\s+0123456 \(fix it\)/);
    expect(text).toMatch(/Build Pod:\s+web-1-build/);
    expect(text).toMatch(/Log Tail:\s+npm ERR! missing script/);
  });
});
