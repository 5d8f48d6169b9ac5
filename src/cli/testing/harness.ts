import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CliIo } from '../io.js';
import { runCli } from '../program.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output, a given config file, stdin text and clock.
 * For unit tests. */
export class CliHarness {
  readonly configPath: string;
  now: Date = new Date();
  readonly env: Record<string, string | undefined>;

  private constructor(configPath: string, env: Record<string, string | undefined>) {
    this.configPath = configPath;
    this.env = env;
  }

  static async create(env: Record<string, string | undefined> = {}): Promise<CliHarness> {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-cli-'));
    const configPath = join(dir, 'home', '.slipway', 'config');
    return new CliHarness(configPath, {
      HOME: join(dir, 'home'),
      SLIPWAY_CONFIG: configPath,
      ...env,
    });
  }

  async run(
    args: readonly string[],
    options: { stdin?: string; signal?: AbortSignal } = {},
  ): Promise<CliResult> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([options.stdin ?? '']),
      env: this.env,
      now: () => this.now,
      signal: options.signal,
    };
    const code = await runCli(args, io);
    return { code, stdout, stderr };
  }
}
