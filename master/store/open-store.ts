import { resolve } from 'node:path';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export const SUPPORTED_STORE_URLS = ['memory://', 'sqlite:///absolute/path/state.db'] as const;

export interface OpenStoreOptions {
  /** How many undelivered events a watcher may hold before it ends with TooSlow. */
  watchQueueLimit?: number;
  /** Resolves `sqlite://relative/path`; the current directory by default. */
  cwd?: string;
}

/**
 * Opens the store a URL names:
 * - `memory://`: in-process, gone on exit (tests, throwaway runs);
 * - `sqlite:///abs/path/state.db`: the embedded default; `sqlite://relative/state.db` is
 *   resolved against `cwd`. The rest of the URL is the file path as written.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const rest = scheme === undefined ? '' : url.slice(scheme.length + 3);
  const driverOptions =
    options.watchQueueLimit === undefined ? {} : { watchQueueLimit: options.watchQueueLimit };
  try {
    switch (scheme) {
      case 'memory':
        if (rest !== '') throw invalid(url, 'memory:// takes no path');
        return Promise.resolve(new MemoryStore(driverOptions));
      case 'sqlite': {
        const path = rest.split(/[?#]/, 1)[0] ?? '';
        if (path === '' || path === '/') throw invalid(url, 'it names no database file');
        if (path !== rest) throw invalid(url, 'sqlite:// URLs take no query or fragment');
        return Promise.resolve(
          new SqliteStore(resolve(options.cwd ?? process.cwd(), path), driverOptions),
        );
      }
      case 'etcd':
        // The seam for an etcd driver: it implements the same Store interface.
        throw invalid(url, 'the etcd driver is not available in this build');
      default:
        throw invalid(url, 'unknown store scheme');
    }
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

function invalid(url: string, reason: string): Error {
  return new Error(
    `invalid store URL "${url}": ${reason}; supported: ${SUPPORTED_STORE_URLS.join(', ')}`,
  );
}
