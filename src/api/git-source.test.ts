import { describe, expect, it } from 'vitest';
import {
  checkContextDir,
  checkGitCommit,
  checkGitRef,
  checkGitUri,
  isLocalGitUri,
  redactCredentials,
  validateGitSource,
} from './git-source.js';

const fields = (causes: { field?: string }[]): (string | undefined)[] => causes.map((c) => c.field);

describe('checkGitUri', () => {
  it.each([
    'https://github.com/sclorg/nodejs-ex.git',
    'http://git.example.com:8080/team/app',
    'ssh://git@github.com/org/repo.git',
    'ssh://git@github.com:2222/org/repo.git',
    'git://git.example.com/repo.git',
    'git+ssh://git@host.example.com/repo.git',
    'git@github.com:org/repo.git',
    'github.com:org/repo.git',
    'https://[::1]:3000/repo.git',
    'https://github.com/org/my-util.git',
  ])('accepts %s', (uri) => {
    expect(checkGitUri(uri)).toEqual([]);
  });

  it.each([
    ['--upload-pack=touch /tmp/x'],
    ['--upload-pack=touch'],
    ['-u/tmp/x'],
    ['-utouch'],
    ['ext::sh -c touch% /tmp/pwned'],
    ['ext::sh'],
    ['fd::17'],
    ['-c protocol.ext.allow=always'],
    ['--config=core.sshCommand=touch'],
    ['https://example.com/repo.git --upload-pack=touch'],
    ['https://example.com/x\u0000y'],
    ['https://example.com/x\ny'],
    ['ssh://-oProxyCommand=touch/x/repo'],
    ['git@-oProxyCommand=x:repo'],
    ['host:-repo'],
    ['ftp://example.com/repo.git'],
    ['https://'],
  ])('refuses %j naming the field', (uri) => {
    const causes = checkGitUri(uri);
    expect(causes.length).toBeGreaterThan(0);
    expect(fields(causes)).toEqual(causes.map(() => 'spec.source.git.uri'));
  });

  it('says why a value that git would read as an option is refused', () => {
    expect(checkGitUri('--upload-pack=touch /tmp/x')[0]!.message).toContain(
      "must not begin with '-'",
    );
    expect(checkGitUri('ext::sh -c x')[0]!.message).toContain('remote helper');
  });

  it('refuses file:// URLs and local paths unless allowed', () => {
    for (const uri of ['file:///srv/repo.git', '/srv/repo.git', './repo', 'repo']) {
      const causes = checkGitUri(uri);
      expect(causes).toHaveLength(1);
      expect(causes[0]!.reason).toBe('FieldValueForbidden');
      expect(causes[0]!.message).toContain('allowFileGitSources');
      expect(checkGitUri(uri, 'spec.source.git.uri', { allowFile: true })).toEqual([]);
      expect(isLocalGitUri(uri)).toBe(true);
    }
    expect(isLocalGitUri('git@github.com:org/repo.git')).toBe(false);
    // Options stay refused even where local paths are allowed.
    expect(checkGitUri('-u/tmp/x', 'f', { allowFile: true })).not.toEqual([]);
  });

  it('refuses credentials in the URL without echoing them, pointing at source secrets', () => {
    for (const uri of [
      'https://alice:hunter2@github.com/org/repo.git',
      'https://ghp_tokenvalue123@github.com/org/repo.git',
      'ssh://git:pw@host.example.com/repo.git',
      'user:pass@host.example.com:repo.git',
    ]) {
      const causes = checkGitUri(uri);
      expect(causes.length, uri).toBeGreaterThan(0);
      const text = JSON.stringify(causes);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('ghp_tokenvalue123');
      expect(text).not.toContain(':pw@');
      expect(text).not.toContain('pass@');
      expect(text).toContain('sourceSecret');
    }
  });

  it('names the field it is given', () => {
    expect(fields(checkGitUri('-x', 'git.uri'))).toEqual(['git.uri']);
  });
});

describe('checkGitRef', () => {
  it.each(['main', 'refs/heads/main', 'v1.2.3', 'feature/x-y', '3f1c2a1'])('accepts %s', (ref) => {
    expect(checkGitRef(ref)).toEqual([]);
  });

  it.each([
    '-main',
    '--upload-pack=touch',
    '-utouch',
    'main..other',
    'a b',
    'main\n',
    'ext::x',
    'a:b',
    'x@{1}',
    'x.lock',
    '/abs',
    'trailing/',
    'a//b',
    '.hidden',
    'x~1',
    'x^',
    'x*',
  ])('refuses %j naming spec.source.git.ref', (ref) => {
    const causes = checkGitRef(ref);
    expect(causes.length).toBeGreaterThan(0);
    expect(fields(causes)).toEqual(causes.map(() => 'spec.source.git.ref'));
  });
});

describe('checkContextDir', () => {
  it.each(['web', 'apps/web', 'a b/c', './web'])('accepts %j', (dir) => {
    expect(checkContextDir(dir)).toEqual([]);
  });

  it.each(['../etc', 'a/../../b', '/etc', '-x', 'a\u0000b', 'a\nb', 'ext::x', '..'])(
    'refuses %j naming spec.source.contextDir',
    (dir) => {
      const causes = checkContextDir(dir);
      expect(causes.length).toBeGreaterThan(0);
      expect(fields(causes)).toEqual(causes.map(() => 'spec.source.contextDir'));
    },
  );
});

describe('checkGitCommit', () => {
  it('takes hexadecimal ids only', () => {
    expect(checkGitCommit('abcdef0')).toEqual([]);
    expect(checkGitCommit('0123456789abcdef0123456789abcdef01234567')).toEqual([]);
    expect(checkGitCommit('--upload-pack=x')).toHaveLength(1);
    expect(checkGitCommit('HEAD')).toHaveLength(1);
    expect(checkGitCommit('abc')).toHaveLength(1);
  });
});

describe('validateGitSource', () => {
  it('checks uri, ref and contextDir under the given prefix', () => {
    const causes = validateGitSource(
      { git: { uri: '-u/x', ref: '-x' }, contextDir: '../x' },
      'spec.source',
    );
    expect(new Set(fields(causes))).toEqual(
      new Set(['spec.source.git.uri', 'spec.source.git.ref', 'spec.source.contextDir']),
    );
    expect(validateGitSource(undefined)).toEqual([]);
    expect(validateGitSource({ git: { uri: '' } })[0]).toMatchObject({
      field: 'spec.source.git.uri',
      message: 'Required value',
    });
  });
});

describe('redactCredentials', () => {
  it('hides user information of URLs in text', () => {
    expect(redactCredentials('fatal: https://alice:s3cret@host/x.git failed')).toBe(
      'fatal: https://redacted@host/x.git failed',
    );
    expect(redactCredentials('https://token123@github.com/x')).toBe(
      'https://redacted@github.com/x',
    );
    expect(redactCredentials('ssh://git@github.com/x')).toBe('ssh://git@github.com/x');
    expect(redactCredentials('ssh://git:pw@github.com/x')).toBe('ssh://redacted@github.com/x');
  });
});
