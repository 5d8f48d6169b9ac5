import { builtinKinds, type KindRegistry } from '../api/index.js';
import { ApiClient } from '../client/index.js';
import { defaultConfigPath, readConfig, writeConfig, type SlipwayConfig } from './config.js';
import { CliError, formatError, NOT_LOGGED_IN } from './errors.js';
import type { CliIo } from './io.js';
import { clientVersion } from './version.js';

/** Shared state of one CLI run: io, config, the API client and the exit code. */
export class CliContext {
  readonly io: CliIo;
  readonly registry: KindRegistry;
  exitCode = 0;
  /** What followed a literal `--` on the command line (commander passes it on as operands). */
  afterDoubleDash: readonly string[] = [];
  private configPathOverride: string | undefined;
  private cached: SlipwayConfig | undefined;

  constructor(io: CliIo, registry: KindRegistry = builtinKinds()) {
    this.io = io;
    this.registry = registry;
  }

  setConfigPath(path: string | undefined): void {
    this.configPathOverride = path || undefined;
    this.cached = undefined;
  }

  get configPath(): string {
    return this.configPathOverride ?? defaultConfigPath(this.io.env);
  }

  async config(): Promise<SlipwayConfig> {
    this.cached ??= await readConfig(this.configPath);
    return this.cached;
  }

  async saveConfig(config: SlipwayConfig): Promise<void> {
    await writeConfig(this.configPath, config);
    this.cached = config;
  }

  /** A client for an explicit server and token (login). */
  newClient(server: string, token: string | undefined): ApiClient {
    return new ApiClient({
      server,
      token,
      registry: this.registry,
      userAgent: `slipway/${clientVersion()}`,
    });
  }

  /** A client for the logged-in server, or the not-logged-in error. */
  async client(): Promise<ApiClient> {
    const config = await this.config();
    if (!config.server || !config.token) throw new CliError(NOT_LOGGED_IN);
    return this.newClient(config.server, config.token);
  }

  /** `-n` flag, else the current project, else `default`. */
  async namespace(flag: string | undefined): Promise<string> {
    if (flag) return flag;
    return (await this.config()).project || 'default';
  }

  /** Writes a line to stdout (the newline is added). */
  out(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Writes a line to stderr (the newline is added). */
  err(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** Prints an error for one item and carries on; the run ends with a non-zero code. */
  reportError(err: unknown): void {
    this.err(formatError(err));
    this.exitCode = 1;
  }
}
