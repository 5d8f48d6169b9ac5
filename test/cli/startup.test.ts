// What the built `slipway` command loads: a client command never loads the server side (master,
// agent, router, the logger) nor the libraries only some commands need (WebSocket, tar, git),
// which is most of its start-up time; the server commands still find theirs. The modules are
// recorded by a module hook in the command's own process.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from './support/slipway.js';

const run = promisify(execFile);
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
let dir: string;
let hook: string;

/** Every module URL the command resolved, in order. */
async function loadedBy(args: string[]): Promise<string[]> {
  const out = join(dir, `modules-${args.join('-').replace(/[^a-z-]/gi, '')}.txt`);
  await run(NODE, ['--import', hook, join(ROOT, 'bin', 'slipway.js'), ...args], {
    env: { ...process.env, SLIPWAY_CONFIG: join(dir, 'config'), RECORD_MODULES_TO: out },
  });
  return (await readFile(out, 'utf8')).split('\n').filter(Boolean);
}

const SERVER_SIDE = [
  '/dist/master/',
  '/dist/agent/',
  '/dist/router/',
  '/dist/cmd/server-commands.js',
  '/node_modules/pino/',
  '/node_modules/dockerode/',
];
const SOME_COMMANDS_ONLY = [
  '/node_modules/ws/',
  '/node_modules/tar-fs/',
  '/node_modules/tar-stream/',
  '/node_modules/simple-git/',
];

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'slipway-startup-'));
  hook = join(dir, 'record-modules.mjs');
  await writeFile(
    hook,
    [
      "import { registerHooks } from 'node:module';",
      "import { writeFileSync } from 'node:fs';",
      'const seen = [];',
      'registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });',
      "process.on('exit', () => writeFileSync(process.env.RECORD_MODULES_TO, seen.join('\\n')));",
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the command starts with what it needs', () => {
  it.each([
    ['version', '--client'],
    ['get', 'pods', '--help'],
    ['start-build', '--help'],
  ])('%s %s loads no server code and no library only some commands use', async (...args) => {
    const modules = await loadedBy(args);
    expect(modules.some((m) => m.endsWith('/dist/cmd/slipway.js'))).toBe(true);
    for (const part of [...SERVER_SIDE, ...SOME_COMMANDS_ONLY]) {
      expect(
        modules.filter((m) => m.includes(part)),
        part,
      ).toEqual([]);
    }
  });

  it('the server commands load theirs, and help lists them', async () => {
    const modules = await loadedBy(['up', '--help']);
    expect(modules.some((m) => m.endsWith('/dist/cmd/server-commands.js'))).toBe(true);
    const { stdout } = await run(NODE, [join(ROOT, 'bin', 'slipway.js'), '--help'], {
      env: { ...process.env, SLIPWAY_CONFIG: join(dir, 'config') },
    });
    for (const command of ['up', 'down', 'server', 'agent', 'router']) {
      expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });
});
