// `slipway edit`: the built CLI as a subprocess against a real master, with scripted editors
// (SLIPWAY_EDITOR runs through the shell, as a user's `EDITOR="code --wait"` would).
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configMapKind, type ApiObject } from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt, ROOT, slipway, slipwayEntry, type Result } from './support/slipway.js';

const NS = 'editing';
let master: CliTestMaster;
let admin: ApiClient;

const cli = cliSession({ name: 'cli-edit' });

type ConfigMap = ApiObject & { data?: Record<string, string> };

const settings = (): Promise<ConfigMap> =>
  admin.get<ConfigMap>(configMapKind, 'settings', { namespace: NS });

/** `slipway edit ARGS` with `editor` (a shell command line) as the editor. */
function edit(args: string[], editor: string): Promise<Result> {
  return slipway(['edit', ...args], { env: { ...cli.env, SLIPWAY_EDITOR: editor } });
}

/** An editor script in the session's directory; `$1` is the file. */
async function script(name: string, body: string): Promise<string> {
  const path = join(cli.dir, name);
  await writeFile(path, `#!/bin/sh\nset -e\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster({ controllers: false });
  admin = new ApiClient({ server: master.url, token: master.adminToken });
  await cli.open();
  await cli.login(master.url, master.adminToken, NS);
});

beforeEach(async () => {
  await admin.delete(configMapKind, 'settings', { namespace: NS }).catch(() => undefined);
  await admin.create(
    configMapKind,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { a: '1', script: '# a comment line in the data\necho hi\n' },
    },
    { namespace: NS },
  );
});

afterAll(async () => {
  await master?.close();
  await cli.close();
});

describe('edit', () => {
  it('saves what the user changed in the editor, and nothing else', async () => {
    const r = await edit(['cm/settings'], `sed -i -e 's/^  a: "1"$/  a: "changed"/'`);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'configmap/settings edited\n', '']);
    // A `#` line inside a block scalar is data, not a comment.
    expect((await settings()).data).toEqual({
      a: 'changed',
      script: '# a comment line in the data\necho hi\n',
    });
  });

  it('shows the object as YAML under the usual header, or as JSON with -o json', async () => {
    const seen = join(cli.dir, 'seen');
    const copy = await script('copy.sh', `cp "$1" ${seen}`);
    expect((await edit(['configmap', 'settings'], copy)).stdout).toBe(
      'Edit cancelled, no changes made.\n',
    );
    const yaml = await readFile(seen, 'utf8');
    expect(yaml).toMatch(
      /^# Please edit the object below\. Lines beginning with a '#' will be ignored,\n# and an empty file will abort the edit\. If an error occurs while saving this file will be\n# reopened with the relevant failures\.\n#\napiVersion: v1\nkind: ConfigMap\nmetadata:\n/,
    );
    const r = await edit(
      ['cm/settings', '-o', 'json'],
      `sed -i -e 's/^        "a": "1",$/        "a": "json",/'`,
    );
    expect([r.code, r.stdout]).toEqual([0, 'configmap/settings edited\n']);
    expect((await settings()).data?.a).toBe('json');
  });

  it('cancels on an empty file or an editor that fails, changing nothing', async () => {
    const before = await settings();
    expect((await edit(['cm/settings'], 'truncate -s 0')).stdout).toBe(
      'Edit cancelled, no changes made.\n',
    );
    const failed = await edit(['cm/settings'], 'false');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(
      'error: there was a problem with the editor "false" (exit status 1)\n',
    );
    expect((await settings()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('keeps a change someone else made while the editor was open', async () => {
    // While "the user" edits data, a label is added through the API: both survive.
    const node = join(ROOT, 'node_modules', '.bin', 'node');
    const concurrent = await script(
      'concurrent.sh',
      `"${node}" "${slipwayEntry()}" label cm/settings team=blue >/dev/null\n` +
        `sed -i -e 's/^  a: "1"$/  a: "two"/' "$1"`,
    );
    const r = await edit(['cm/settings'], concurrent);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'configmap/settings edited\n', '']);
    const now = await settings();
    expect(now.data?.a).toBe('two');
    expect(now.metadata.labels).toEqual({ team: 'blue' });
  });

  it('reopens a refused edit with the reasons on top; a fixed one is saved', async () => {
    // First round: a list where a string belongs; second round: the user fixes it.
    const fixes = await script(
      'fixes.sh',
      `if grep -q '^# ConfigMap "settings" is invalid' "$1"; then\n` +
        `  cp "$1" ${join(cli.dir, 'second-round')}\n` +
        `  sed -i -e 's/^  a:$/  a: "fixed"/' -e '/^    - 1$/d' "$1"\n` +
        `else\n  sed -i -e 's/^  a: "1"$/  a:\\n    - 1/' "$1"\nfi`,
    );
    const r = await edit(['cm/settings'], fixes);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'configmap/settings edited\n', '']);
    expect((await settings()).data?.a).toBe('fixed');
    const second = await readFile(join(cli.dir, 'second-round'), 'utf8');
    expect(second).toContain(
      '# ConfigMap "settings" is invalid: data.a: Invalid value: [1]: must be a string\n',
    );
    expect(second).toContain('\n  a:\n    - 1\n');
  });

  it('gives up when a refused edit is saved again unchanged, and keeps the file', async () => {
    const before = await settings();
    const stubborn = await script(
      'stubborn.sh',
      `grep -q 'was changed' "$1" && exit 0\n` +
        `sed -i -e 's/^  a: "1"$/  a: 7/' -e 's/^  name: settings$/  name: other/' "$1"`,
    );
    const r = await edit(['cm/settings'], stubborn);
    expect(r.code).toBe(1);
    const m =
      /^error: Edit cancelled, no valid changes were saved \((.*)\); a copy of your changes has been stored to "(.+)"\n$/.exec(
        r.stderr,
      );
    expect(m, r.stderr).not.toBeNull();
    expect(m![1]).toBe('ConfigMap "other": at least one of apiVersion, kind and name was changed');
    expect(await readFile(m![2]!, 'utf8')).toContain('  name: other\n');
    await rm(dirname(m![2]!), { recursive: true, force: true });
    expect((await settings()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('refuses what it cannot edit, naming it', async () => {
    expect((await edit(['cm'], 'true')).stderr).toBe(
      'error: edit needs objects by name: TYPE/NAME... or TYPE NAME...\n',
    );
    expect((await edit(['cm/nosuch'], 'true')).stderr).toBe(
      'Error from server (NotFound): configmaps "nosuch" not found\n',
    );
  });
});
