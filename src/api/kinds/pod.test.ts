import { describe, expect, it } from 'vitest';
import { podDisplayStatus, type Pod } from './pod.js';

function pod(status: Pod['status'], extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ...extra },
    spec: { containers: [{ name: 'c', image: 'i' }] },
    status,
  };
}

describe('podDisplayStatus', () => {
  it('shows the phase when containers have nothing to say', () => {
    expect(podDisplayStatus(pod(undefined))).toBe('Pending');
    expect(podDisplayStatus(pod({ phase: 'Running', containerStatuses: [] }))).toBe('Running');
  });

  it('prefers a waiting reason such as CrashLoopBackOff', () => {
    const status: Pod['status'] = {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'c',
          ready: false,
          restartCount: 3,
          image: 'i',
          state: { waiting: { reason: 'CrashLoopBackOff' } },
        },
      ],
    };
    expect(podDisplayStatus(pod(status))).toBe('CrashLoopBackOff');
  });

  it('shows terminated reasons, or the exit code without one', () => {
    const t = (terminated: {
      exitCode: number;
      reason?: string;
      signal?: number;
    }): Pod['status'] => ({
      phase: 'Failed',
      containerStatuses: [
        { name: 'c', ready: false, restartCount: 0, image: 'i', state: { terminated } },
      ],
    });
    expect(podDisplayStatus(pod(t({ exitCode: 0, reason: 'Completed' })))).toBe('Completed');
    expect(podDisplayStatus(pod(t({ exitCode: 137, reason: 'OOMKilled' })))).toBe('OOMKilled');
    expect(podDisplayStatus(pod(t({ exitCode: 2 })))).toBe('ExitCode:2');
  });

  it('shows init container progress and Terminating', () => {
    const status: Pod['status'] = {
      phase: 'Pending',
      initContainerStatuses: [
        {
          name: 'i',
          ready: false,
          restartCount: 0,
          image: 'i',
          state: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    };
    expect(podDisplayStatus(pod(status))).toBe('Init:Error');
    expect(podDisplayStatus(pod(undefined, { deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBe(
      'Terminating',
    );
  });
});
