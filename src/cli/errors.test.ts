import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/index.js';
import { ConnectionError } from '../client/index.js';
import { CliError, formatError } from './errors.js';

describe('formatError', () => {
  it('prints server errors as kubectl does, and everything else as error: ...', () => {
    expect(formatError(ApiError.notFound('pods', 'x'))).toBe(
      'Error from server (NotFound): pods "x" not found',
    );
    expect(
      formatError(
        new ConnectionError(
          'ServiceUnavailable',
          'cannot reach the Slipway API at http://h: connection refused',
        ),
      ),
    ).toBe('error: cannot reach the Slipway API at http://h: connection refused');
    expect(formatError(new ApiError('Unauthorized', 'Unauthorized'))).toMatch(
      /^error: You must be logged in to the server \(Unauthorized\)/,
    );
    expect(formatError(new CliError('bad\n  input'))).toBe('error: bad input');
    expect(formatError(new Error('boom'))).toBe('error: boom');
  });
});
