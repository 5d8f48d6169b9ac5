import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../src/util/atomic-file.js';
import {
  ADMIN_USER,
  AUTHENTICATED_GROUP,
  CLUSTER_ADMINS_GROUP,
  CONTROLLER_MANAGER_USER,
  NODE_BOOTSTRAP_USER,
  NODE_BOOTSTRAPPERS_GROUP,
  ROUTER_USER,
  type UserInfo,
} from './user.js';

/** Where the master keeps its bearer tokens, readable by its owner only. */
export const TOKENS_FILE = 'tokens.json';

const tokenEntry = z.object({
  user: z.string().min(1),
  groups: z.array(z.string()),
  token: z.string().min(32),
});

const tokensFileSchema = z.object({
  version: z.literal(1),
  tokens: z.array(tokenEntry),
});

export type TokenEntry = z.infer<typeof tokenEntry>;

export interface Tokens {
  adminToken: string;
  joinToken: string;
  /** Used by the controller-manager inside the master; never handed out. */
  controllerManagerToken: string;
  /** Used by the router that `slipway up` runs beside the master. */
  routerToken: string;
  entries: readonly TokenEntry[];
}

/** 32 random bytes, base64url: 43 characters. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function findToken(entries: readonly TokenEntry[], user: string): string | undefined {
  return entries.find((e) => e.user === user)?.token;
}

/**
 * Reads DATA_DIR/tokens.json, creating it on first start with an admin token, a node-join
 * token, the controller-manager's token and the built-in router's. A file that others can
 * read is tightened to mode 0600. Missing built-in tokens are added (and the file rewritten);
 * existing ones are kept, so tokens survive restarts.
 */
export async function loadOrCreateTokens(dataDir: string): Promise<Tokens> {
  const path = join(dataDir, TOKENS_FILE);
  let entries: TokenEntry[] = [];
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(
        `${path} is not valid JSON; fix or remove it (new tokens are then generated)`,
        {
          cause: err,
        },
      );
    }
    const result = tokensFileSchema.safeParse(parsed);
    if (!result.success) {
      throw new Error(
        `${path} is not a valid tokens file: ${result.error.issues[0]?.message ?? ''}`,
      );
    }
    entries = result.data.tokens;
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077) await chmod(path, 0o600);
  }
  let changed = false;
  if (!findToken(entries, ADMIN_USER)) {
    entries.push({ user: ADMIN_USER, groups: [CLUSTER_ADMINS_GROUP], token: newToken() });
    changed = true;
  }
  if (!findToken(entries, NODE_BOOTSTRAP_USER)) {
    entries.push({
      user: NODE_BOOTSTRAP_USER,
      groups: [NODE_BOOTSTRAPPERS_GROUP],
      token: newToken(),
    });
    changed = true;
  }
  if (!findToken(entries, CONTROLLER_MANAGER_USER)) {
    entries.push({ user: CONTROLLER_MANAGER_USER, groups: [], token: newToken() });
    changed = true;
  }
  if (!findToken(entries, ROUTER_USER)) {
    entries.push({ user: ROUTER_USER, groups: [], token: newToken() });
    changed = true;
  }
  if (changed) {
    await writeFileAtomic(path, `${JSON.stringify({ version: 1, tokens: entries }, null, 2)}\n`);
  }
  return {
    adminToken: findToken(entries, ADMIN_USER)!,
    joinToken: findToken(entries, NODE_BOOTSTRAP_USER)!,
    controllerManagerToken: findToken(entries, CONTROLLER_MANAGER_USER)!,
    routerToken: findToken(entries, ROUTER_USER)!,
    entries,
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Bearer-token authentication. Tokens are compared as SHA-256 digests with timingSafeEqual,
 * against every known token (no early exit), so timing reveals neither a token nor which
 * one matched.
 */
export class TokenAuthenticator {
  private readonly known: { digest: Buffer; user: UserInfo }[];

  constructor(entries: readonly TokenEntry[]) {
    this.known = entries.map((e) => ({
      digest: digest(e.token),
      user: { name: e.user, groups: [...e.groups, AUTHENTICATED_GROUP] },
    }));
  }

  /** The user for an `Authorization` header value, or undefined. */
  authenticate(authorization: string | undefined): UserInfo | undefined {
    if (!authorization) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return undefined;
    const presented = digest(match[1]!);
    let found: UserInfo | undefined;
    for (const entry of this.known) {
      if (timingSafeEqual(presented, entry.digest) && !found) found = entry.user;
    }
    return found;
  }
}
