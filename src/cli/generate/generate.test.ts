import { describe, expect, it } from 'vitest';
import { buildConfig, imageStreams, type BuildPlan } from './build-objects.js';
import { detectBuilder, undetectedMessage } from './detect.js';
import { checkContextDir, checkGitArgument, redactUrl } from './inspect-repo.js';
import {
  looksLikeRepository,
  nameFromRepository,
  parseEnvPairs,
  parseImageStreamRef,
  parseLabelPairs,
  parseSourceArg,
} from './source-arg.js';

describe('source arguments', () => {
  it('splits builder, repository and ref', () => {
    expect(parseSourceArg('nodejs~https://git.example/app.git#v2')).toEqual({
      builder: 'nodejs',
      uri: 'https://git.example/app.git',
      ref: 'v2',
    });
    expect(parseSourceArg('https://git.example/app.git')).toEqual({
      builder: undefined,
      uri: 'https://git.example/app.git',
      ref: undefined,
    });
  });

  it('refuses empty parts with the argument in the message', () => {
    expect(() => parseSourceArg('~https://x/a.git')).toThrow(/builder before "~" is empty/);
    expect(() => parseSourceArg('nodejs~')).toThrow(/repository after "~" is empty/);
    expect(() => parseSourceArg('https://x/a.git#')).toThrow(/ref after "#" is empty/);
  });

  it('tells repositories from images', () => {
    expect(looksLikeRepository('https://git.example/app')).toBe(true);
    expect(looksLikeRepository('git@github.com:org/app.git')).toBe(true);
    expect(looksLikeRepository('nodejs~http://127.0.0.1:9/app')).toBe(true);
    expect(looksLikeRepository('quay.io/org/app:1')).toBe(false);
    expect(looksLikeRepository('nginx')).toBe(false);
  });

  it('derives names as oc does', () => {
    expect(nameFromRepository('https://git.example/org/Node_Hello.git')).toBe('node-hello');
    expect(nameFromRepository('git@github.com:org/app.git')).toBe('app');
    expect(nameFromRepository('https://git.example/org/app/')).toBe('app');
    expect(nameFromRepository('https://git.example/org/1st-app.git')).toBe('st-app');
    expect(nameFromRepository(`https://x/${'a'.repeat(80)}.git`)).toHaveLength(58);
    expect(() => nameFromRepository('https://x/123.git')).toThrow(/--name/);
  });

  it('reads image stream references and leaves registry images alone', () => {
    expect(parseImageStreamRef('nodejs')).toEqual({
      namespace: undefined,
      name: 'nodejs',
      tag: 'latest',
    });
    expect(parseImageStreamRef('openshift/python:3.11')).toEqual({
      namespace: 'openshift',
      name: 'python',
      tag: '3.11',
    });
    expect(parseImageStreamRef('quay.io/org/img:1')).toBeUndefined();
    expect(parseImageStreamRef('localhost/img')).toBeUndefined();
    expect(parseImageStreamRef('127.0.0.1:5000/ns/img')).toBeUndefined();
    expect(parseImageStreamRef('img@sha256:abc')).toBeUndefined();
  });

  it('parses env and labels, naming the bad pair', () => {
    expect(parseEnvPairs(['A=1', 'B=x=y', 'C='], '-e')).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'x=y' },
      { name: 'C', value: '' },
    ]);
    expect(() => parseEnvPairs(['=1'], '-e')).toThrow('-e "=1"');
    expect(() => parseEnvPairs(['1A=1'], '--build-env')).toThrow('--build-env "1A=1"');
    expect(parseLabelPairs(['a=b,c=d', 'e=f'])).toEqual({ a: 'b', c: 'd', e: 'f' });
    expect(() => parseLabelPairs(['nope'])).toThrow('--labels "nope"');
  });
});

describe('builder detection', () => {
  it('prefers a Dockerfile, then the language markers in order', () => {
    expect(detectBuilder(['Dockerfile', 'package.json'])).toMatchObject({ strategy: 'Docker' });
    expect(detectBuilder(['package.json', 'index.html'])).toMatchObject({ builder: 'nodejs' });
    expect(detectBuilder(['requirements.txt'])).toMatchObject({ builder: 'python' });
    expect(detectBuilder(['index.html', 'style.css'])).toMatchObject({ builder: 'static' });
    expect(detectBuilder(['README.md'])).toBeUndefined();
    expect(detectBuilder(['build/Dockerfile'], 'build/Dockerfile')).toMatchObject({
      strategy: 'Docker',
    });
    expect(undetectedMessage('x')).toMatch(/package\.json.*requirements\.txt.*index\.html/);
  });
});

describe('repository checks', () => {
  it('refuses values git would read as options or remote helpers', () => {
    for (const bad of ['--upload-pack=touch /tmp/x', '-u', 'ext::sh -c id', 'a\nb'])
      expect(() => checkGitArgument('repository', bad)).toThrow(/not a repository location/);
    expect(() => checkGitArgument('repository', 'https://x/a.git')).not.toThrow();
  });

  it('keeps the context directory inside the repository', () => {
    expect(checkContextDir('app/')).toBe('app');
    expect(checkContextDir('.')).toBe('');
    expect(() => checkContextDir('../x')).toThrow('--context-dir');
    expect(() => checkContextDir('/etc')).toThrow('--context-dir');
  });

  it('redacts passwords in URLs', () => {
    expect(redactUrl('fatal: https://bob:s3cret@git.example/a.git')).toBe(
      'fatal: https://bob:REDACTED@git.example/a.git',
    );
  });
});

describe('build objects', () => {
  const plan: BuildPlan = {
    name: 'web',
    labels: { build: 'web' },
    generatedBy: 'OpenShiftNewBuild',
    strategy: 'Source',
    from: { kind: 'ImageStreamTag', namespace: 'openshift', name: 'nodejs:latest' },
    source: { type: 'Git', uri: 'https://git.example/web.git', ref: 'main', contextDir: 'app' },
    env: [{ name: 'A', value: '1' }],
    outputTag: 'web:latest',
  };

  it('makes a BuildConfig with webhooks, ConfigChange and ImageChange', () => {
    const bc = buildConfig(plan, { github: 'g', generic: 'h' }) as unknown as {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown>;
    };
    expect(bc.metadata.labels).toEqual({ build: 'web' });
    expect(bc.spec).toMatchObject({
      source: {
        type: 'Git',
        git: { uri: 'https://git.example/web.git', ref: 'main' },
        contextDir: 'app',
      },
      strategy: { type: 'Source', sourceStrategy: { from: plan.from, env: plan.env } },
      output: { to: { kind: 'ImageStreamTag', name: 'web:latest' } },
      triggers: [
        { type: 'GitHub', github: { secret: 'g' } },
        { type: 'Generic', generic: { secret: 'h' } },
        { type: 'ConfigChange' },
        { type: 'ImageChange', imageChange: {} },
      ],
    });
  });

  it('names the source secret when given', () => {
    const bc = buildConfig({ ...plan, sourceSecret: 'repo-creds' }) as unknown as {
      spec: { source: { sourceSecret?: { name: string } } };
    };
    expect(bc.spec.source.sourceSecret).toEqual({ name: 'repo-creds' });
  });

  it('gives binary builds no automatic triggers and random secrets otherwise', () => {
    const binary = buildConfig({
      ...plan,
      source: { type: 'Binary', contextDir: undefined },
    }) as unknown as {
      spec: { triggers: unknown[]; source: unknown };
    };
    expect(binary.spec.triggers).toEqual([]);
    expect(binary.spec.source).toEqual({ type: 'Binary', binary: {} });
    const a = JSON.stringify(buildConfig(plan));
    const b = JSON.stringify(buildConfig(plan));
    expect(a).not.toBe(b);
  });

  it('makes an output stream, and a builder stream for a plain image', () => {
    const streams = imageStreams({
      ...plan,
      builderImage: { streamName: 'custom', tag: '1', image: 'quay.io/org/custom:1' },
    });
    expect(streams.map((s) => s.metadata.name)).toEqual(['custom', 'web']);
    expect(streams[0]).toMatchObject({
      spec: { tags: [{ name: '1', from: { kind: 'DockerImage', name: 'quay.io/org/custom:1' } }] },
    });
  });
});
