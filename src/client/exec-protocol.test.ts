import { describe, expect, it } from 'vitest';
import {
  CHANNEL,
  decodeFrame,
  decodeResize,
  encodeFrame,
  encodeResize,
  exitCodeStatus,
  failureStatus,
  parseExecStatus,
  successStatus,
} from './exec-protocol.js';

describe('exec channel protocol', () => {
  it('prefixes each message with its channel byte', () => {
    const frame = encodeFrame(CHANNEL.stdout, 'hi');
    expect([...frame]).toEqual([1, 0x68, 0x69]);
    expect(decodeFrame(frame)).toEqual({ channel: 1, data: Buffer.from('hi') });
    expect(decodeFrame([Buffer.of(2), Buffer.from('x')])).toEqual({
      channel: 2,
      data: Buffer.from('x'),
    });
    expect(decodeFrame(Buffer.alloc(0))).toBeUndefined();
    expect([...encodeFrame(CHANNEL.close, Uint8Array.of(CHANNEL.stdin))]).toEqual([255, 0]);
  });

  it('encodes resizes as Kubernetes does and refuses nonsense', () => {
    const frame = encodeResize({ width: 120, height: 40 });
    expect(frame[0]).toBe(4);
    expect(frame.subarray(1).toString()).toBe('{"Width":120,"Height":40}');
    expect(decodeResize(frame.subarray(1))).toEqual({ width: 120, height: 40 });
    expect(decodeResize(Buffer.from('{"Width":-1,"Height":40}'))).toBeUndefined();
    expect(decodeResize(Buffer.from('nope'))).toBeUndefined();
  });

  it('reads exit codes and failures from the status channel', () => {
    expect(JSON.stringify(successStatus())).toBe('{"metadata":{},"status":"Success"}');
    expect(exitCodeStatus(3)).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    const parse = (v: unknown) => parseExecStatus(Buffer.from(JSON.stringify(v)));
    expect(parse(successStatus())).toEqual({ kind: 'exit', exitCode: 0 });
    expect(parse(exitCodeStatus(3))).toEqual({ kind: 'exit', exitCode: 3 });
    expect(parse(failureStatus('no such file', 'InternalError'))).toEqual({
      kind: 'error',
      message: 'no such file',
      reason: 'InternalError',
    });
    expect(parseExecStatus('garbage')).toMatchObject({ kind: 'error', message: 'garbage' });
  });
});
