// One CLI user for a test file: its own HOME and config file in a temporary directory, and the
// built `slipway` run as that user, with the checks every CLI test makes of a command's outcome.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { slipway, type Result } from './slipway.js';

export interface CliSessionOptions {
  /** Names the temporary directory: `slipway-NAME-XXXXXX`. */
  name: string;
  /** How long one command may run (default: slipway()'s). */
  timeoutMs?: number;
  /** `ok` lets a command write to stderr (progress lines); by default stderr must be empty. */
  stderrOnSuccess?: boolean;
  /** `fails` wants exactly one line on stderr and returns that line; by default all of stderr. */
  oneLineErrors?: boolean;
  /** `fails` wants nothing on stdout. */
  quietFailures?: boolean;
}

export interface CliSession {
  /** The session's directory (HOME is `DIR/home`), for the test's own files; after open(). */
  readonly dir: string;
  /** The environment the commands run with: HOME and SLIPWAY_CONFIG; after open(). */
  readonly env: Record<string, string>;
  /** A fresh directory and HOME (a new user, logged in nowhere). */
  open(): Promise<void>;
  /** Logs in with `token`; with `project`, creates that project, which becomes the current one. */
  login(server: string, token: string, project?: string): Promise<void>;
  run(args: readonly string[], stdin?: string): Promise<Result>;
  /** Exit 0 (and nothing on stderr unless `stderrOnSuccess`); returns stdout. */
  ok(args: readonly string[], stdin?: string): Promise<string>;
  /** A non-zero exit without a stack trace; returns stderr (its one line with `oneLineErrors`). */
  fails(args: readonly string[], stdin?: string): Promise<string>;
  /** Removes the directory. */
  close(): Promise<void>;
}

/** Usage: `const cli = cliSession({ name }); const { run, ok, fails } = cli;`, then cli.open()
 * in beforeAll (or beforeEach) and cli.close() in afterAll (or afterEach). */
export function cliSession(options: CliSessionOptions): CliSession {
  let current: { dir: string; env: Record<string, string> } | undefined;
  const opened = (): { dir: string; env: Record<string, string> } => {
    if (!current) throw new Error('the CLI session is not open');
    return current;
  };

  const run = (args: readonly string[], stdin?: string): Promise<Result> =>
    slipway(args, {
      env: opened().env,
      ...(stdin === undefined ? {} : { stdin }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });

  const ok = async (args: readonly string[], stdin?: string): Promise<string> => {
    const r = await run(args, stdin);
    if (!options.stderrOnSuccess) expect(r.stderr, `slipway ${args.join(' ')}`).toBe('');
    expect(r.code, `slipway ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  const fails = async (args: readonly string[], stdin?: string): Promise<string> => {
    const r = await run(args, stdin);
    expect(r.code, `slipway ${args.join(' ')}: ${r.stdout}`).not.toBe(0);
    if (options.quietFailures) expect(r.stdout, `stdout of slipway ${args.join(' ')}`).toBe('');
    let error = r.stderr;
    if (options.oneLineErrors) {
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, `stderr of slipway ${args.join(' ')}`).toHaveLength(1);
      error = lines[0]!;
    }
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    return error;
  };

  const close = async (): Promise<void> => {
    const dir = current?.dir;
    current = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  };

  return {
    get dir() {
      return opened().dir;
    },
    get env() {
      return opened().env;
    },
    async open() {
      await close();
      const dir = await mkdtemp(join(tmpdir(), `slipway-${options.name}-`));
      const home = join(dir, 'home');
      current = { dir, env: { HOME: home, SLIPWAY_CONFIG: join(home, '.slipway', 'config') } };
    },
    async login(server, token, project) {
      await ok(['login', server, '--token', token]);
      if (project !== undefined) await ok(['new-project', project]);
    },
    run,
    ok,
    fails,
    close,
  };
}
