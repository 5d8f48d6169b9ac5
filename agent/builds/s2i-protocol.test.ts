import { describe, expect, it } from 'vitest';
import { assembleUser, parseNumericUser } from './assemble-user.js';
import { buildLabels } from './build-labels.js';
import {
  appendLabels,
  baseImages,
  escapeCharOf,
  instructions,
  replaceLastFrom,
} from './dockerfile.js';
import { hookCommand, hasPostCommit } from './post-commit.js';
import { buildEnvironment, dockerEnv, parseEnvironmentFile } from './s2i-env.js';
import { ignoreMatcher, parseS2iIgnore } from './s2i-ignore.js';
import { destinationOf } from './s2i-scripts.js';
import { BuildFailure } from './types.js';

describe('.s2i/environment and the build environment', () => {
  it('parses KEY=VALUE lines, skipping comments and blank lines', () => {
    const { entries, problems } = parseEnvironmentFile(
      '# comment\n\nA=1\nB = two words=x\r\nnot a pair\n1BAD=x\n',
    );
    expect(entries).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: ' two words=x' },
    ]);
    expect(problems).toHaveLength(2);
  });

  it('merges the file, OpenShift variables and the strategy env, later ones winning', () => {
    const { env, skipped } = buildEnvironment({
      buildName: 'app-3',
      namespace: 'demo',
      sourceUri: 'https://example.com/app.git',
      ref: 'main',
      commit: 'abc',
      fromFile: [
        { name: 'A', value: 'file' },
        { name: 'OPENSHIFT_BUILD_NAME', value: 'spoofed' },
      ],
      strategyEnv: [
        { name: 'A', value: 'strategy' },
        { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
      ],
    });
    expect(dockerEnv(env)).toEqual([
      'OPENSHIFT_BUILD_NAME=app-3',
      'OPENSHIFT_BUILD_NAMESPACE=demo',
      'OPENSHIFT_BUILD_SOURCE=https://example.com/app.git',
      'OPENSHIFT_BUILD_REFERENCE=main',
      'OPENSHIFT_BUILD_COMMIT=abc',
      'A=strategy',
    ]);
    expect(skipped).toEqual(['FROM_SECRET']);
  });
});

describe('.s2iignore', () => {
  it('leaves out matching paths and .git', () => {
    const ignore = ignoreMatcher(parseS2iIgnore('# c\n*.log\n/tmp/\nsecrets/*.key\n\n'));
    expect(ignore('debug.log')).toBe(true);
    expect(ignore('dir/debug.log')).toBe(false); // as S2I: patterns match from the root
    expect(ignore('tmp')).toBe(true);
    expect(ignore('secrets/a.key')).toBe(true);
    expect(ignore('secrets/a.txt')).toBe(false);
    expect(ignore('.git')).toBe(true);
    expect(ignore('.git/config')).toBe(true);
    expect(ignore('.gitignore')).toBe(false);
  });
});

describe('assemble user', () => {
  it('takes the label, else the image USER, numeric and not root', () => {
    expect(assembleUser('b', '1001', {})).toEqual({ uid: 1001, gid: 0 });
    expect(assembleUser('b', 'default', { 'io.openshift.s2i.assemble-user': '1002:5' })).toEqual({
      uid: 1002,
      gid: 5,
    });
    expect(parseNumericUser('1001:x')).toBeUndefined();
    for (const user of ['', '0', 'root', 'default', '0:0']) {
      expect(() => assembleUser('img', user, {})).toThrow(
        /builder image img must specify a user that is numeric and within the range of allowed users/,
      );
    }
    try {
      assembleUser('img', 'root', {});
    } catch (err) {
      expect((err as BuildFailure).reason).toBe('GenericBuildFailed');
    }
  });
});

describe('destination', () => {
  it('is the label, default /tmp, and only a plain absolute path', () => {
    expect(destinationOf({})).toBe('/tmp');
    expect(destinationOf({ 'io.openshift.s2i.destination': '/opt/s2i-dest/' })).toBe(
      '/opt/s2i-dest',
    );
    for (const bad of ['relative', '/tmp; rm -rf /', '/a/../b', '/$(x)']) {
      expect(() => destinationOf({ 'io.openshift.s2i.destination': bad })).toThrow(BuildFailure);
    }
  });
});

describe('build labels', () => {
  it("are OpenShift's", () => {
    expect(
      buildLabels({
        builderImage: 'reg/ns/builder:1',
        buildName: 'app-1',
        namespace: 'demo',
        revision: {
          commit: 'abc',
          author: { name: 'A', email: 'a@x' },
          committer: { name: 'C', email: 'c@x' },
          date: '2024-01-01T00:00:00+00:00',
          message: 'Subject\n\nBody',
        },
        ref: 'main',
        sourceUri: 'https://x/app.git',
        contextDir: 'web',
      }),
    ).toEqual({
      'io.openshift.build.image': 'reg/ns/builder:1',
      'io.openshift.build.commit.id': 'abc',
      'io.openshift.build.commit.author': 'A <a@x>',
      'io.openshift.build.commit.date': '2024-01-01T00:00:00+00:00',
      'io.openshift.build.commit.message': 'Subject',
      'io.openshift.build.commit.ref': 'main',
      'io.openshift.build.source-location': 'https://x/app.git',
      'io.openshift.build.source-context-dir': 'web',
      'io.openshift.build.name': 'app-1',
      'io.openshift.build.namespace': 'demo',
    });
  });
});

describe('Dockerfile FROM replacement', () => {
  it('replaces the last stage only, keeping flags and the stage name', () => {
    const text =
      'FROM golang AS build\nRUN make\nfrom --platform=linux/amd64 alpine:3 AS final\nCOPY . .\n';
    expect(replaceLastFrom(text, 'reg/ns/base:1')).toBe(
      'FROM golang AS build\nRUN make\nfrom --platform=linux/amd64 reg/ns/base:1 AS final\nCOPY . .\n',
    );
    expect(replaceLastFrom('RUN x\n', 'y')).toBeUndefined();
  });
});

describe('Dockerfile instructions and base images', () => {
  it('reads instructions as the engine does: comments, blank lines and continuations', () => {
    const text = [
      '# syntax=docker/dockerfile:1',
      'from \\',
      '  # a comment inside the continuation',
      '',
      '  reg/ns/base:1 AS build',
      '  RUN echo hi \\',
      '      there',
    ].join('\n');
    expect(instructions(text)).toEqual([
      { keyword: 'FROM', args: 'reg/ns/base:1 AS build', line: 2 },
      { keyword: 'RUN', args: 'echo hi       there', line: 6 },
    ]);
    expect(instructions('# escape=`\nFROM a `\n  AS b\n')).toEqual([
      { keyword: 'FROM', args: 'a   AS b', line: 2 },
    ]);
  });

  it("lists each stage's image, without scratch and earlier stages, ARGs expanded", () => {
    const text = [
      'ARG REG=registry.example:5000',
      'ARG TAG',
      'ARG EMPTY=',
      'FROM --platform=linux/amd64 ${REG}/ns/base:${TAG:-1} AS base',
      'FROM scratch AS files',
      'FROM $REG/ns/tools${EMPTY:+-never}',
      'COPY --from=base /a /a',
      'FROM BASE',
    ].join('\n');
    expect(baseImages(text, {})).toEqual({
      images: [
        { image: 'registry.example:5000/ns/base:1', line: 4 },
        { image: 'registry.example:5000/ns/tools', line: 6 },
      ],
      problems: [],
    });
    // Build arguments win over the defaults; ARGs after the first FROM do not reach FROM.
    const args = baseImages(`${text}\nARG LATE=x\nFROM other:$LATE`, { TAG: '2', REG: 'r' });
    expect(args.images.map((i) => i.image)).toEqual(['r/ns/base:2', 'r/ns/tools', 'other:']);
  });

  it('names FROMs whose image it cannot work out', () => {
    expect(baseImages('ARG X=a\nFROM ${X%a}b\nFROM $\n', {}).problems).toEqual([
      'line 2: cannot work out the image of "FROM ${X%a}b"',
      'line 3: cannot work out the image of "FROM $"',
    ]);
    expect(baseImages('FROM\n', {}).problems).toEqual([
      'line 1: cannot work out the image of "FROM "',
    ]);
  });
});

describe('Dockerfile labels', () => {
  it('appends one LABEL, quoted for the escape character, expanding nothing', () => {
    const labels = { 'io.openshift.build.commit.message': 'say "hi" \\ $HOME `x`', n: '1' };
    expect(appendLabels('FROM a\nRUN b', labels)).toBe(
      'FROM a\nRUN b\nLABEL "io.openshift.build.commit.message"="say \\"hi\\" \\\\ \\$HOME `x`" "n"="1"\n',
    );
    expect(escapeCharOf('# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n')).toBe('`');
    expect(escapeCharOf('FROM a\n# escape=`\n')).toBe('\\');
    expect(appendLabels('# escape=`\nFROM a\n', labels)).toBe(
      '# escape=`\nFROM a\nLABEL "io.openshift.build.commit.message"="say `"hi`" \\ `$HOME ``x``" "n"="1"\n',
    );
    expect(appendLabels('FROM a\n', {})).toBe('FROM a\n');
  });
});

describe('post-commit hook', () => {
  it('runs a script with /bin/sh -ic, a command with its args, or args for the entrypoint', () => {
    expect(hookCommand({ script: 'make test' })).toEqual({
      entrypoint: ['/bin/sh', '-ic'],
      cmd: ['make test'],
    });
    expect(hookCommand({ command: ['npm'], args: ['test'] })).toEqual({
      entrypoint: ['npm'],
      cmd: ['test'],
    });
    expect(hookCommand({ args: ['--check'] })).toEqual({ cmd: ['--check'] });
    expect(hasPostCommit({})).toBe(false);
    expect(hasPostCommit(undefined)).toBe(false);
  });
});
