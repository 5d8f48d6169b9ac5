import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors.js';
import {
  dataChannel,
  errorChannel,
  parseForwardedPorts,
  portPrefixFrame,
} from './port-forward-protocol.js';

describe('port-forward protocol', () => {
  it('numbers two channels per port and opens each with the port, little-endian', () => {
    expect([dataChannel(0), errorChannel(0), dataChannel(2), errorChannel(2)]).toEqual([
      0, 1, 4, 5,
    ]);
    expect([...portPrefixFrame(1, 8080)]).toEqual([1, 0x90, 0x1f]);
  });

  it('reads repeated and comma-separated ports', () => {
    expect(parseForwardedPorts(['8080', '9000, 9001'], 'ports')).toEqual([8080, 9000, 9001]);
  });

  it('refuses bad, missing and too many ports, naming the parameter', () => {
    for (const bad of ['0', '65536', 'http', '-1', '80x', '']) {
      expect(() => parseForwardedPorts([bad], 'ports'), bad).toThrow(
        `invalid port "${bad}" in ports: ports are numbers from 1 to 65535`,
      );
    }
    expect(() => parseForwardedPorts([], 'port')).toThrow('at least one port is required in port');
    const many = Array.from({ length: 17 }, (_, i) => String(8000 + i));
    let err: unknown;
    try {
      parseForwardedPorts(many, 'ports');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
    expect((err as ApiError).message).toBe(
      'too many ports in ports: 17 (at most 16 per connection)',
    );
  });
});
