import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateTokens, TokenAuthenticator } from './tokens.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-tokens-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tokens', () => {
  it('creates an admin and a join token once, 0600, and reuses them', async () => {
    const a = await loadOrCreateTokens(dir);
    expect(a.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(join(dir, 'tokens.json'))).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateTokens(dir);
    expect([b.adminToken, b.joinToken]).toEqual([a.adminToken, a.joinToken]);
  });

  it("creates the router's token and keeps it", async () => {
    const a = await loadOrCreateTokens(dir);
    expect(a.routerToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.adminToken, a.joinToken, a.controllerManagerToken, a.routerToken]).size).toBe(
      4,
    );
    expect(new TokenAuthenticator(a.entries).authenticate(`Bearer ${a.routerToken}`)).toEqual({
      name: 'system:router',
      groups: ['system:authenticated'],
    });
    expect((await loadOrCreateTokens(dir)).routerToken).toBe(a.routerToken);
  });

  it('adds the controller-manager token to a tokens file written before it existed', async () => {
    const a = await loadOrCreateTokens(dir);
    const file = JSON.parse(await readFile(join(dir, 'tokens.json'), 'utf8')) as {
      version: 1;
      tokens: { user: string }[];
    };
    file.tokens = file.tokens.filter((t) => t.user !== 'system:controller-manager');
    await writeFile(join(dir, 'tokens.json'), JSON.stringify(file), { mode: 0o600 });
    const b = await loadOrCreateTokens(dir);
    expect([b.adminToken, b.joinToken]).toEqual([a.adminToken, a.joinToken]);
    expect(b.controllerManagerToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.controllerManagerToken).not.toBe(a.controllerManagerToken);
    const authn = new TokenAuthenticator(b.entries);
    expect(authn.authenticate(`Bearer ${b.controllerManagerToken}`)?.name).toBe(
      'system:controller-manager',
    );
    expect((await loadOrCreateTokens(dir)).controllerManagerToken).toBe(b.controllerManagerToken);
  });

  it('refuses a corrupt tokens file instead of replacing it', async () => {
    await writeFile(join(dir, 'tokens.json'), '{not json');
    await expect(loadOrCreateTokens(dir)).rejects.toThrow(/tokens.json is not valid JSON/);
    await writeFile(join(dir, 'tokens.json'), '{"version": 2}');
    await expect(loadOrCreateTokens(dir)).rejects.toThrow(/not a valid tokens file/);
    expect(await readFile(join(dir, 'tokens.json'), 'utf8')).toBe('{"version": 2}');
  });

  it('authenticates bearer tokens only', async () => {
    const tokens = await loadOrCreateTokens(dir);
    const authn = new TokenAuthenticator(tokens.entries);
    expect(authn.authenticate(`Bearer ${tokens.adminToken}`)?.name).toBe('admin');
    expect(authn.authenticate(`bearer ${tokens.joinToken}`)?.name).toBe('system:node-bootstrap');
    expect(authn.authenticate(`Bearer ${tokens.adminToken}`)?.groups).toContain(
      'system:authenticated',
    );
    expect(authn.authenticate(undefined)).toBeUndefined();
    expect(authn.authenticate(tokens.adminToken)).toBeUndefined();
    expect(authn.authenticate(`Bearer ${tokens.adminToken.slice(1)}`)).toBeUndefined();
    expect(authn.authenticate(`Bearer ${tokens.adminToken} extra`)).toBeUndefined();
    expect(authn.authenticate('Bearer ')).toBeUndefined();
  });
});
