import { describe, expect, it } from 'vitest';
import { normalizeServer } from './auth.js';

describe('normalizeServer', () => {
  it('adds http for loopback hosts and https otherwise, and drops trailing slashes', () => {
    expect(normalizeServer('127.0.0.1:8443')).toBe('http://127.0.0.1:8443');
    expect(normalizeServer('localhost:8443/')).toBe('http://localhost:8443');
    expect(normalizeServer('[::1]:8443')).toBe('http://[::1]:8443');
    expect(normalizeServer('master.example.com:8443')).toBe('https://master.example.com:8443');
    expect(normalizeServer('https://10.0.0.1:8443/')).toBe('https://10.0.0.1:8443');
  });

  it('refuses what is not an http(s) URL, and credentials in it', () => {
    expect(() => normalizeServer('ftp://x')).toThrow(/use http:\/\/ or https:\/\//);
    expect(() => normalizeServer('http://user:pw@host')).toThrow(
      'put credentials in --token, not in the server URL',
    );
    expect(() => normalizeServer('http://')).toThrow(/not a valid server URL/);
  });
});
