import { describe, expect, it } from 'vitest';
import { CliHarness } from '../testing/harness.js';
import { parseSince } from './logs.js';

describe('logs and exec arguments', () => {
  it('reads --since durations', () => {
    expect(parseSince('30s')).toBe(30);
    expect(parseSince('5m')).toBe(300);
    expect(parseSince('1h30m')).toBe(5400);
    expect(parseSince('0s')).toBe(1);
    expect(() => parseSince('5 minutes')).toThrow('invalid argument "5 minutes" for "--since"');
    expect(() => parseSince('')).toThrow('for "--since"');
  });

  it('refuses kinds that select no pods and bad flags with one line', async () => {
    const cli = await CliHarness.create();
    const cases: [string[], string][] = [
      [
        ['logs', 'cm/settings'],
        'error: cannot get the logs of configmaps; only pods and what selects them (services, deploymentconfigs, deployments, replicationcontrollers, replicasets) are supported',
      ],
      [
        ['exec', 'secret/x', '--', 'id'],
        'error: cannot exec into secrets; only pods and what selects them (services, deploymentconfigs, deployments, replicationcontrollers, replicasets) are supported',
      ],
      [
        ['logs', 'p', '--tail', 'x'],
        'error: invalid argument "x" for "--tail": a number of lines, or -1',
      ],
      [['exec', 'p'], 'error: you must specify at least one command for the container'],
      [
        ['logs', 'p', 'a', '-c', 'b'],
        'error: only one of -c or an inline container name is allowed',
      ],
    ];
    for (const [args, line] of cases) {
      const r = await cli.run(args);
      expect([r.code, r.stderr]).toEqual([1, `${line}\n`]);
    }
  });
});
