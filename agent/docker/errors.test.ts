import { describe, expect, it } from 'vitest';
import { engineMessage, isRuntimeError, mapDockerError, RuntimeError } from './errors.js';

/** Shaped like dockerode's errors. */
function dockerError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
    statusCode,
    json: { message },
  });
}

describe('mapDockerError', () => {
  it.each([
    [404, 'No such container: abc', undefined, 'ContainerNotFound'],
    [404, 'No such image: busybox:9', undefined, 'ImageNotFound'],
    [404, 'whatever', 'image', 'ImageNotFound'],
    [404, 'get slipway-x: no such volume', undefined, 'VolumeNotFound'],
    [409, 'Conflict. The container name "/x" is already in use', undefined, 'Conflict'],
    [400, 'invalid mount config', undefined, 'InvalidRequest'],
    [500, 'driver failed', undefined, 'EngineError'],
  ] as const)('%d %s -> %s', (status, message, kind, code) => {
    const err = mapDockerError(
      dockerError(status, message),
      kind ? { op: 'op', kind } : { op: 'op' },
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.code).toBe(code);
    expect(err.statusCode).toBe(status);
    expect(err.message).toBe(`op: ${message}`);
  });

  it('maps socket failures to EngineUnavailable', () => {
    const err = mapDockerError(
      Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }),
      { op: 'ping' },
    );
    expect(err.code).toBe('EngineUnavailable');
    expect(err.message).toBe(
      'ping: Docker engine unavailable: connect ENOENT /var/run/docker.sock',
    );
  });

  it('passes runtime errors through and keeps the cause', () => {
    const original = new RuntimeError('Timeout', 'x');
    expect(mapDockerError(original, { op: 'y' })).toBe(original);
    const cause = dockerError(409, 'busy');
    expect(mapDockerError(cause, { op: 'y' }).cause).toBe(cause);
    expect(isRuntimeError(original, 'Timeout')).toBe(true);
    expect(isRuntimeError(original, 'Conflict')).toBe(false);
    expect(isRuntimeError(new Error('x'))).toBe(false);
  });

  it('extracts the engine message from the forms dockerode produces', () => {
    expect(engineMessage({ json: Buffer.from('plain text body\n') })).toBe('plain text body');
    expect(engineMessage(new Error('(HTTP code 500) server error - boom '))).toBe('boom');
    expect(engineMessage('str')).toBe('str');
  });
});
