import { describe, expect, it } from 'vitest';
import {
  groupPods,
  type ContainerListEntry,
  type ContainerStateName,
  type PodInventory,
} from '../docker/inventory.js';
import { LABELS, podLabels } from '../docker/labels.js';
import { execInstance, logInstance, type InstanceQuery } from './containers.js';

const NODE = 'n1';

/** A container list entry as the engine returns it for an instance the agent created. */
function instance(name: string, attempt: number, state: ContainerStateName): ContainerListEntry {
  return {
    Id: `${name}-${attempt}`,
    Names: [`/slipway_${name}_p_ns_uid-1_${attempt}`],
    State: state,
    Created: attempt,
    Labels: {
      ...podLabels(NODE, { uid: 'uid-1', namespace: 'ns', name: 'p' }),
      [LABELS.containerName]: name,
      [LABELS.attempt]: String(attempt),
      [LABELS.restartCount]: String(attempt),
    },
  };
}

function pod(...containers: ContainerListEntry[]): PodInventory[] {
  return groupPods([instance('POD', 0, 'running'), ...containers], [], NODE);
}

const q: InstanceQuery = { podUid: 'uid-1', namespace: 'ns', pod: 'p', container: 'c' };

describe('choosing the container instance', () => {
  it('logs: the newest instance, and the one before it with previous', () => {
    const pods = pod(instance('c', 1, 'running'), instance('c', 0, 'exited'));
    expect(logInstance(pods, q, false).id).toBe('c-1');
    expect(logInstance(pods, q, true).id).toBe('c-0');
    expect(logInstance(pod(instance('c', 0, 'exited')), q, false).id).toBe('c-0');
  });

  it('logs: words a missing instance as kubectl does', () => {
    expect(() => logInstance(pod(instance('c', 0, 'running')), q, true)).toThrow(
      'previous terminated container "c" in pod "p" not found',
    );
    expect(() => logInstance(pod(), q, false)).toThrow(
      'container "c" in pod "p" is waiting to start: ContainerCreating',
    );
    expect(() => logInstance(pod(instance('c', 0, 'created')), q, false)).toThrow(
      'is waiting to start',
    );
  });

  it('never matches another pod uid, name or the sandbox', () => {
    const pods = pod(instance('c', 0, 'running'));
    expect(() => logInstance(pods, { ...q, podUid: 'uid-2' }, false)).toThrow('waiting to start');
    expect(() => logInstance(pods, { ...q, pod: 'other' }, false)).toThrow('waiting to start');
    expect(() => execInstance(pods, { ...q, container: 'POD' })).toThrow('waiting to start');
  });

  it('exec: only a running instance', () => {
    expect(execInstance(pod(instance('c', 0, 'running')), q).id).toBe('c-0');
    expect(() => execInstance(pod(instance('c', 0, 'exited')), q)).toThrow(
      'container "c" in pod "p" is not running (exited)',
    );
    const err = (() => {
      try {
        execInstance(pod(), q);
      } catch (e) {
        return e as { code: number };
      }
    })();
    expect(err?.code).toBe(400);
  });
});
