import { CommanderError } from 'commander';
import { ApiError } from '../api/index.js';
import { ConnectionError } from '../client/index.js';

/** An expected failure with a message meant for the user; printed as `error: MESSAGE`. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const NOT_LOGGED_IN =
  'not logged in; run "slipway login SERVER --token TOKEN" or "slipway up"';

/** The one line (no trailing newline) the CLI prints for an error, in kubectl's words. */
export function formatError(err: unknown): string {
  if (err instanceof ConnectionError) return `error: ${err.message}`;
  if (err instanceof ApiError) {
    if (err.reason === 'Unauthorized') {
      return 'error: You must be logged in to the server (Unauthorized); run "slipway login SERVER --token TOKEN"';
    }
    return `Error from server (${err.reason}): ${oneLine(err.message)}`;
  }
  if (err instanceof CliError) return `error: ${oneLine(err.message)}`;
  if (err instanceof CommanderError) return oneLine(err.message);
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${oneLine(message)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
