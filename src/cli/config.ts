import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { CliError } from './errors.js';

/** `~/.slipway/config`: where the CLI keeps the server, the credentials and the current project. */
export interface SlipwayConfig {
  server?: string | undefined;
  token?: string | undefined;
  user?: string | undefined;
  project?: string | undefined;
}

const configSchema = z.looseObject({
  server: z.string().optional(),
  token: z.string().optional(),
  user: z.string().optional(),
  project: z.string().optional(),
});

/** `SLIPWAY_CONFIG`, else `~/.slipway/config`. The `--config` option overrides both. */
export function defaultConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.SLIPWAY_CONFIG) return env.SLIPWAY_CONFIG;
  return join(env.HOME || homedir(), '.slipway', 'config');
}

/** The config at `path`; an empty one when the file does not exist. */
export async function readConfig(path: string): Promise<SlipwayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parse(text) ?? {};
  } catch (err) {
    throw new CliError(
      `the config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const result = configSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the top level';
    throw new CliError(
      `the config file ${path} is invalid at ${where}: expected ${where === 'the top level' ? 'a mapping' : 'a string'}`,
    );
  }
  return result.data;
}

/**
 * Writes the config atomically (a temporary file renamed over the old one), readable only by
 * its owner (0600, in a 0700 directory when the directory is created here): it holds a token.
 */
export async function writeConfig(path: string, config: SlipwayConfig): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const clean = Object.fromEntries(
    Object.entries(config).filter(([, v]) => v !== undefined && v !== ''),
  );
  const tmp = join(dir, `.${Date.now()}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, stringify(clean), { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CliError(`cannot write the config file ${path}: ${(err as Error).message}`);
  }
}
