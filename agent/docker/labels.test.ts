import { describe, expect, it } from 'vitest';
import {
  containerDockerName,
  isOwned,
  LABELS,
  MANAGED_BY,
  ownedFilters,
  parseContainerLabels,
  podLabels,
  volumeDockerName,
} from './labels.js';

const pod = { uid: '0b7c-uid', namespace: 'shop', name: 'web-1' };

describe('labels', () => {
  it('marks ownership with managed-by and the node', () => {
    const labels = podLabels('node-a', pod);
    expect(labels).toEqual({
      'io.slipway.managed-by': 'slipway-agent',
      'io.slipway.node': 'node-a',
      'io.slipway.pod.uid': '0b7c-uid',
      'io.slipway.pod.namespace': 'shop',
      'io.slipway.pod.name': 'web-1',
    });
    expect(isOwned(labels, 'node-a')).toBe(true);
    expect(isOwned(labels, 'node-b')).toBe(false);
    expect(isOwned({ ...labels, [LABELS.managedBy]: 'someone-else' }, 'node-a')).toBe(false);
    expect(isOwned(null, 'node-a')).toBe(false);
    expect(ownedFilters('node-a', { [LABELS.podUid]: 'u' })).toEqual([
      'io.slipway.managed-by=slipway-agent',
      'io.slipway.node=node-a',
      'io.slipway.pod.uid=u',
    ]);
  });

  it('parses container labels back, tolerating junk', () => {
    const info = parseContainerLabels({
      ...podLabels('node-a', pod),
      [LABELS.containerName]: 'POD',
      [LABELS.containerHash]: 'abc',
      [LABELS.attempt]: '3',
      [LABELS.restartCount]: 'x',
      [LABELS.backoff]: '20000',
      [LABELS.podGracePeriod]: '15',
      [LABELS.preStop]: '{"exec":{"command":["true"]}}',
    });
    expect(info).toEqual({
      ...pod,
      node: 'node-a',
      containerName: 'POD',
      isSandbox: true,
      hash: 'abc',
      attempt: 3,
      restartCount: 0,
      backoffMs: 20000,
      gracePeriodSeconds: 15,
      preStop: { exec: { command: ['true'] } },
    });
    expect(parseContainerLabels({ [LABELS.managedBy]: MANAGED_BY })).toBeUndefined();
    expect(
      parseContainerLabels({ [LABELS.podUid]: 'u', [LABELS.containerName]: 'c' }),
    ).toBeUndefined();
    expect(
      parseContainerLabels({
        ...podLabels('n', pod),
        [LABELS.containerName]: 'c',
        [LABELS.preStop]: '{',
      })?.preStop,
    ).toBeUndefined();
  });

  it('names Docker objects uniquely per instance and safely', () => {
    expect(containerDockerName(pod, 'app', 2)).toBe('slipway_app_web-1_shop_0b7c-uid_2');
    expect(containerDockerName({ ...pod, name: 'a b/c' }, 'app', 0)).toBe(
      'slipway_app_a-b-c_shop_0b7c-uid_0',
    );
    expect(volumeDockerName('0b7c-uid', 'data')).toBe('slipway-0b7c-uid-data');
  });
});
