/**
 * Checks on the git inputs of a build: the repository URI, the ref, the context directory and a
 * commit id. Pure functions: the master runs them when a BuildConfig or Build is written, and
 * the agent runs them again just before it calls git, so a value that could be read by git as
 * an option (`--upload-pack=...`, `-u...`, `-c protocol.ext.allow=always`), a remote helper
 * (`ext::sh -c ...`) or a path outside the checkout never reaches a git command line.
 *
 * Messages never echo credentials: a URI is shown with any user information replaced.
 */
import type { StatusCause } from './errors.js';

export interface GitSourceCheckOptions {
  /** Accept `file://` URLs and local paths (a cluster administrator's choice; off by default). */
  allowFile?: boolean;
}

export const GIT_URI_MAX = 2048;
export const GIT_REF_MAX = 255;
export const CONTEXT_DIR_MAX = 1024;

/** Schemes git clones over the network, and what it calls ssh. */
const NETWORK_SCHEMES = new Set(['http', 'https', 'ssh', 'git', 'git+ssh', 'ssh+git']);
const SSH_SCHEMES = new Set(['ssh', 'git+ssh', 'ssh+git']);

/** Option names that have no business inside a URI, ref or path, wherever they appear. */
const FORBIDDEN_FRAGMENTS = ['--upload-pack', '--receive-pack', '--config', '--exec', '--template'];

/** True when the text holds a C0 control character or DEL (NUL and line breaks included). */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Said without the value, which holds the credentials. */
const CREDENTIALS_MESSAGE =
  'Forbidden: credentials must not be part of the repository URL; put them in a source secret (spec.source.sourceSecret)';
const WHITESPACE = /\s/;

/** `scheme://user:secret@host` and `https://token@host` with the user information hidden. */
export function redactCredentials(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/gi,
    (whole, scheme: string, userinfo: string) => {
      const web = /^https?:\/\/$/i.test(scheme);
      return web || userinfo.includes(':') ? `${scheme}redacted@` : whole;
    },
  );
}

function quote(value: string): string {
  const shown = [...redactCredentials(value)]
    .map((ch) => (hasControlCharacter(ch) ? '?' : ch))
    .join('');
  const cut = shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
  return JSON.stringify(cut);
}

function invalid(field: string, value: string, why: string): StatusCause {
  return { field, message: `Invalid value: ${quote(value)}: ${why}`, reason: 'FieldValueInvalid' };
}

/** The problems every git input shares: control characters, a leading dash, remote helpers and
 * option names. */
function commonProblems(value: string): string[] {
  const why: string[] = [];
  if (value.includes('\u0000') || value.includes('\n') || value.includes('\r')) {
    why.push('must not contain NUL or line breaks');
  } else if (hasControlCharacter(value)) {
    why.push('must not contain control characters');
  }
  if (value.startsWith('-')) why.push("must not begin with '-' (git would read it as an option)");
  // `::` outside an IPv6 host literal (`[::1]`) is git's remote-helper syntax.
  const outsideBrackets = value.replace(/\[[0-9a-fA-F:.]+\]/g, '');
  if (value.toLowerCase().includes('ext::') || outsideBrackets.includes('::')) {
    why.push("must not use a git remote helper ('transport::address', such as ext::)");
  }
  const lower = value.toLowerCase();
  for (const fragment of FORBIDDEN_FRAGMENTS) {
    if (lower.includes(fragment)) why.push(`must not contain "${fragment}"`);
  }
  if (/(^|\s)-c\s*protocol/i.test(value)) why.push('must not contain "-c protocol"');
  return why;
}

/** True for `file://` URLs and plain local paths: what only an administrator may allow. */
export function isLocalGitUri(uri: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme !== undefined) return scheme === 'file';
  return scpLike(uri) === undefined;
}

/** `[user@]host:path` (git's scp-like ssh syntax): no slash before the first colon. */
function scpLike(uri: string): { user?: string; host: string; path: string } | undefined {
  const colon = uri.indexOf(':');
  if (colon <= 0) return undefined;
  const slash = uri.indexOf('/');
  if (slash !== -1 && slash < colon) return undefined;
  const left = uri.slice(0, colon);
  const at = left.lastIndexOf('@');
  const host = at === -1 ? left : left.slice(at + 1);
  const user = at === -1 ? undefined : left.slice(0, at);
  return { ...(user === undefined ? {} : { user }), host, path: uri.slice(colon + 1) };
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** Problems with a repository URI (`spec.source.git.uri`). */
export function checkGitUri(
  uri: string,
  field = 'spec.source.git.uri',
  options: GitSourceCheckOptions = {},
): StatusCause[] {
  if (uri === '') {
    return [{ field, message: 'Required value', reason: 'FieldValueRequired' }];
  }
  if (uri.length > GIT_URI_MAX) {
    return [
      {
        field,
        message: `Too long: must have at most ${GIT_URI_MAX} characters`,
        reason: 'FieldValueTooLong',
      },
    ];
  }
  const why = commonProblems(uri);
  if (WHITESPACE.test(uri) && !hasControlCharacter(uri)) why.push('must not contain whitespace');
  if (why.length > 0) return why.map((w) => invalid(field, uri, w));

  const local = (): StatusCause[] =>
    options.allowFile
      ? []
      : [
          {
            field,
            message: `Forbidden: ${quote(uri)}: file:// URLs and local paths are not allowed as git sources on this cluster (an administrator can allow them with allowFileGitSources)`,
            reason: 'FieldValueForbidden',
          },
        ];

  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (schemeMatch) {
    const scheme = schemeMatch[1]!.toLowerCase();
    if (scheme === 'file') return local();
    if (!NETWORK_SCHEMES.has(scheme)) {
      return [
        invalid(
          field,
          uri,
          `unsupported scheme "${scheme}": use https://, http://, ssh://, git:// or user@host:path`,
        ),
      ];
    }
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return [invalid(field, uri, 'not a valid URL')];
    }
    const causes: StatusCause[] = [];
    if (url.password || ((scheme === 'http' || scheme === 'https') && url.username)) {
      causes.push({
        field,
        message: CREDENTIALS_MESSAGE,
        reason: 'FieldValueForbidden',
      });
    }
    const host = url.hostname;
    if (!host) causes.push(invalid(field, uri, 'must name a host'));
    else if (host.startsWith('-') || !HOST.test(host)) {
      causes.push(invalid(field, uri, `the host "${host}" is not a valid host name`));
    }
    let path = url.pathname.replace(/^\/+/, '');
    try {
      path = decodeURIComponent(path);
    } catch {
      causes.push(invalid(field, uri, 'the path is not validly percent-encoded'));
    }
    if (path.startsWith('-')) causes.push(invalid(field, uri, "the path must not begin with '-'"));
    if (SSH_SCHEMES.has(scheme) && url.username.startsWith('-')) {
      causes.push(invalid(field, uri, "the user name must not begin with '-'"));
    }
    return causes;
  }

  if (/^[^/@:]+:[^/@]*@/.test(uri)) {
    // `user:password@host:path`: git would take "user" for the host; it is meant as credentials.
    return [
      {
        field,
        message: CREDENTIALS_MESSAGE,
        reason: 'FieldValueForbidden',
      },
    ];
  }
  const scp = scpLike(uri);
  if (!scp) return local();
  const causes: StatusCause[] = [];
  if (scp.user !== undefined) {
    if (scp.user.includes(':')) {
      causes.push({
        field,
        message: CREDENTIALS_MESSAGE,
        reason: 'FieldValueForbidden',
      });
    } else if (!/^[A-Za-z0-9._~][A-Za-z0-9._~-]*$/.test(scp.user)) {
      causes.push(invalid(field, uri, `the user name "${scp.user}" is not valid`));
    }
  }
  if (!HOST.test(scp.host)) {
    causes.push(invalid(field, uri, `the host "${scp.host}" is not a valid host name`));
  }
  if (scp.path === '') causes.push(invalid(field, uri, 'must name a repository path after ":"'));
  if (scp.path.startsWith('-')) {
    causes.push(invalid(field, uri, "the path must not begin with '-'"));
  }
  return causes;
}

/** Problems with a branch, tag or commit to check out (`spec.source.git.ref`). git's own
 * check-ref-format rules, plus no leading '-'. */
export function checkGitRef(ref: string, field = 'spec.source.git.ref'): StatusCause[] {
  if (ref === '') return [];
  if (ref.length > GIT_REF_MAX) {
    return [
      {
        field,
        message: `Too long: must have at most ${GIT_REF_MAX} characters`,
        reason: 'FieldValueTooLong',
      },
    ];
  }
  const why = commonProblems(ref);
  if (WHITESPACE.test(ref) && !hasControlCharacter(ref)) why.push('must not contain whitespace');
  if (/[~^:?*[\\]/.test(ref)) why.push('must not contain any of ~ ^ : ? * [ \\');
  if (ref.includes('..')) why.push("must not contain '..'");
  if (ref.includes('@{')) why.push("must not contain '@{'");
  if (ref.includes('//')) why.push("must not contain '//'");
  if (ref.startsWith('/') || ref.endsWith('/')) why.push("must not begin or end with '/'");
  if (ref.endsWith('.') || ref.endsWith('.lock')) why.push("must not end with '.' or '.lock'");
  if (ref.split('/').some((part) => part.startsWith('.'))) {
    why.push("no path component may begin with '.'");
  }
  if (ref === '@') why.push("must not be '@'");
  return why.map((w) => invalid(field, ref, w));
}

/** Problems with a directory inside the source tree (`spec.source.contextDir`): relative, no
 * `..` components. */
export function checkContextDir(dir: string, field = 'spec.source.contextDir'): StatusCause[] {
  if (dir === '') return [];
  if (dir.length > CONTEXT_DIR_MAX) {
    return [
      {
        field,
        message: `Too long: must have at most ${CONTEXT_DIR_MAX} characters`,
        reason: 'FieldValueTooLong',
      },
    ];
  }
  const why = commonProblems(dir);
  if (dir.startsWith('/') || /^[A-Za-z]:[\\/]/.test(dir)) why.push('must be a relative path');
  if (dir.split(/[\\/]/).includes('..')) why.push("must not contain '..' path segments");
  return why.map((w) => invalid(field, dir, w));
}

/** Problems with a commit id (`spec.revision.git.commit`): hexadecimal, 4 to 64 digits. */
export function checkGitCommit(commit: string, field = 'spec.revision.git.commit'): StatusCause[] {
  if (commit === '' || /^[0-9a-fA-F]{4,64}$/.test(commit)) return [];
  return [invalid(field, commit, 'must be a commit id (4 to 64 hexadecimal digits)')];
}

/** The git part of a build source, as BuildConfig and Build carry it. */
export interface GitSourceInput {
  git?: { uri?: string | undefined; ref?: string | undefined } | undefined;
  contextDir?: string | undefined;
}

/** Every check on a build source: `prefix` is where it sits (`spec.source`). */
export function validateGitSource(
  source: GitSourceInput | undefined,
  prefix = 'spec.source',
  options: GitSourceCheckOptions = {},
): StatusCause[] {
  if (!source) return [];
  const causes: StatusCause[] = [];
  if (source.git) {
    causes.push(...checkGitUri(source.git.uri ?? '', `${prefix}.git.uri`, options));
    if (source.git.ref !== undefined) {
      causes.push(...checkGitRef(source.git.ref, `${prefix}.git.ref`));
    }
  }
  if (source.contextDir !== undefined) {
    causes.push(...checkContextDir(source.contextDir, `${prefix}.contextDir`));
  }
  return causes;
}
