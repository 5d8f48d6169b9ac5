/**
 * The host's iptables, as the agent uses it: single rule checks and changes (`iptables`), a
 * read of the current tables (`iptables-save`) and atomic batches (`iptables-restore
 * --noflush`). Every call runs the binaries from a fixed PATH with nothing else in the
 * environment. Tests inject fakes of these functions.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { SAFE_PATH } from '../builds/git-fetch.js';

const execFileAsync = promisify(execFile);

/** How long one iptables call may take. */
const TIMEOUT_MS = 30_000;
/** iptables' own lock: wait this many seconds for another writer (legacy backend). */
const LOCK_WAIT_SECONDS = '5';

/** Runs iptables with these arguments; rejects with its error output. */
export type IptablesRunner = (args: string[]) => Promise<void>;

export const defaultIptables: IptablesRunner = async (args) => {
  await execFileAsync('iptables', args, { env: { PATH: SAFE_PATH }, timeout: TIMEOUT_MS });
};

/** What the service proxy needs of the host's firewall. */
export interface IptablesTools {
  /** `iptables-save` of these tables, concatenated (the format iptables-restore reads). */
  save(tables: readonly string[]): Promise<string>;
  /** `iptables-restore --noflush` of `input`: every table in it changes at once, or none. */
  restore(input: string): Promise<void>;
}

/** Error output of a failed command, for messages. */
export function commandError(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' ? stderr.trim() : '';
  return text || (err as Error).message;
}

async function save(tables: readonly string[]): Promise<string> {
  const outputs = await Promise.all(
    tables.map(async (table) => {
      const { stdout } = await execFileAsync('iptables-save', ['-t', table], {
        env: { PATH: SAFE_PATH },
        timeout: TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    }),
  );
  return outputs.join('');
}

function restore(input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('iptables-restore', ['--noflush', '-w', LOCK_WAIT_SECONDS], {
      env: { PATH: SAFE_PATH },
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 16_384) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const err = new Error(
          `iptables-restore failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`,
        );
        reject(Object.assign(err, { stderr }));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** The real tools on this host. */
export const hostIptables: IptablesTools = { save, restore };
