import { describe, expect, it } from 'vitest';
import { normalizeHost, normalizeRoutePath, pathMatches, requestPathOf } from './host.js';

describe('normalizeHost', () => {
  it('lower-cases, drops the port and one trailing dot', () => {
    expect(normalizeHost('WWW.Example.COM')).toBe('www.example.com');
    expect(normalizeHost('www.example.com:8080')).toBe('www.example.com');
    expect(normalizeHost('www.example.com.')).toBe('www.example.com');
    expect(normalizeHost('Www.Example.Com.:443')).toBe('www.example.com');
    expect(normalizeHost(' www.example.com ')).toBe('www.example.com');
  });

  it('refuses what is not a plain DNS name', () => {
    for (const bad of [
      undefined,
      '',
      ':80',
      '.',
      'www.example.com..',
      '.example.com',
      'a..b',
      'www.example.com:',
      'www.example.com:http',
      'www.example.com:99999',
      'user@www.example.com',
      'www.example.com/path',
      'www_example.com',
      '[::1]',
      '[::1]:80',
      'exa mple.com',
      '-a.example.com',
      `${'a'.repeat(250)}.com`,
      'ｅxample.com',
    ]) {
      expect(normalizeHost(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('paths', () => {
  it('normalises route paths: empty and / mean everything, no trailing slash', () => {
    expect(normalizeRoutePath(undefined)).toBe('');
    expect(normalizeRoutePath('/')).toBe('');
    expect(normalizeRoutePath('/api/')).toBe('/api');
    expect(normalizeRoutePath('/api//')).toBe('/api');
    expect(normalizeRoutePath('/api')).toBe('/api');
  });

  it('matches prefixes on segment boundaries only', () => {
    expect(pathMatches('', '/anything')).toBe(true);
    expect(pathMatches('/api', '/api')).toBe(true);
    expect(pathMatches('/api', '/api/')).toBe(true);
    expect(pathMatches('/api', '/api/v1')).toBe(true);
    expect(pathMatches('/api', '/apiv1')).toBe(false);
    expect(pathMatches('/api', '/ap')).toBe(false);
    expect(pathMatches('/api', '/API')).toBe(false);
  });

  it('strips the query from request targets', () => {
    expect(requestPathOf('/a/b?x=/c')).toBe('/a/b');
    expect(requestPathOf('/a')).toBe('/a');
  });
});
