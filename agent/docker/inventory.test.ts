import { describe, expect, it } from 'vitest';
import {
  groupPods,
  selectGarbage,
  type ContainerListEntry,
  type VolumeListEntry,
} from './inventory.js';
import { LABELS, podLabels } from './labels.js';

const NODE = 'node-a';
const podA = { uid: 'uid-a', namespace: 'ns', name: 'a' };
const podB = { uid: 'uid-b', namespace: 'ns', name: 'b' };

let seq = 0;
function entry(
  pod: typeof podA,
  name: string,
  attempt: number,
  state: string,
  extra: Partial<ContainerListEntry> & { node?: string } = {},
): ContainerListEntry {
  seq++;
  return {
    Id: extra.Id ?? `${pod.name}-${name}-${attempt}`,
    Names: [`/slipway_${name}_${pod.name}_${attempt}`],
    Image: 'img:1',
    ImageID: 'sha256:1',
    State: state,
    Status: state === 'exited' ? 'Exited (3) 2 seconds ago' : 'Up 1 second',
    Created: 1000 + seq,
    Labels: {
      ...podLabels(extra.node ?? NODE, pod),
      [LABELS.containerName]: name,
      [LABELS.containerHash]: `h-${name}`,
      [LABELS.attempt]: String(attempt),
      [LABELS.restartCount]: String(attempt),
      [LABELS.podGracePeriod]: '30',
    },
    ...extra,
  };
}

describe('groupPods', () => {
  it('groups by pod uid, newest first, and ignores what the node does not own', () => {
    const containers: ContainerListEntry[] = [
      entry(podA, 'POD', 0, 'running', {
        NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.9' } } },
      }),
      entry(podA, 'app', 0, 'exited'),
      entry(podA, 'app', 1, 'running', { HostConfig: { NetworkMode: 'container:a-POD-0' } }),
      entry(podB, 'POD', 0, 'exited'),
      entry(podB, 'POD', 1, 'running'),
      entry(podA, 'app', 9, 'running', { node: 'node-b' }),
      { Id: 'unlabelled', Labels: { some: 'thing' }, State: 'running' },
      { Id: 'nolabels', State: 'running' },
    ];
    const volumes: VolumeListEntry[] = [
      {
        Name: 'slipway-uid-a-data',
        Labels: { ...podLabels(NODE, podA), [LABELS.volumeName]: 'data' },
      },
      {
        Name: 'slipway-uid-c-data',
        Labels: { ...podLabels(NODE, { uid: 'uid-c', namespace: 'ns', name: 'c' }) },
      },
      { Name: 'foreign', Labels: null },
    ];
    const pods = groupPods(containers, volumes, NODE);
    expect(pods.map((p) => p.uid)).toEqual(['uid-a', 'uid-b', 'uid-c']);
    const [a, b, c] = pods;
    expect(a!.sandboxes.map((s) => [s.id, s.ip])).toEqual([['a-POD-0', '172.17.0.9']]);
    expect(a!.containers.map((x) => [x.id, x.state, x.attempt, x.exitCode, x.sandboxId])).toEqual([
      ['a-app-1', 'running', 1, undefined, 'a-POD-0'],
      ['a-app-0', 'exited', 0, 3, undefined],
    ]);
    expect(a!.volumes).toEqual(['slipway-uid-a-data']);
    expect(b!.sandboxes.map((s) => s.id)).toEqual(['b-POD-1', 'b-POD-0']);
    // A pod with only a volume left (e.g. the agent died while removing it) is still listed.
    expect(c).toMatchObject({
      uid: 'uid-c',
      name: 'c',
      sandboxes: [],
      containers: [],
      volumes: ['slipway-uid-c-data'],
    });
  });
});

describe('selectGarbage', () => {
  it('keeps the newest dead instance per container and never running or created ones', () => {
    const pods = groupPods(
      [
        entry(podA, 'POD', 0, 'running'),
        entry(podA, 'app', 0, 'exited'),
        entry(podA, 'app', 1, 'exited'),
        entry(podA, 'app', 2, 'dead'),
        entry(podA, 'app', 3, 'running'),
        entry(podA, 'side', 0, 'exited'),
        entry(podA, 'side', 1, 'created'),
      ],
      [],
      NODE,
    );
    expect(selectGarbage(pods, 1).map((c) => c.id)).toEqual(['a-app-1', 'a-app-0']);
    expect(selectGarbage(pods, 0).map((c) => c.id)).toEqual([
      'a-app-2',
      'a-app-1',
      'a-app-0',
      'a-side-0',
    ]);
    expect(selectGarbage(pods, 5)).toEqual([]);
  });

  it('removes every dead sandbox once a new one runs, and keeps the newest otherwise', () => {
    const restarted = groupPods(
      [
        entry(podB, 'POD', 0, 'exited'),
        entry(podB, 'POD', 1, 'dead'),
        entry(podB, 'POD', 2, 'running'),
      ],
      [],
      NODE,
    );
    expect(
      selectGarbage(restarted, 1)
        .map((c) => c.id)
        .sort(),
    ).toEqual(['b-POD-0', 'b-POD-1']);
    const finished = groupPods(
      [entry(podB, 'POD', 0, 'exited'), entry(podB, 'POD', 1, 'dead')],
      [],
      NODE,
    );
    expect(selectGarbage(finished, 1).map((c) => c.id)).toEqual(['b-POD-0']);
  });

  it('keeps a dead sandbox while a kept container still joins it', () => {
    const pods = groupPods(
      [
        entry(podB, 'POD', 0, 'exited'),
        entry(podB, 'POD', 1, 'exited'),
        entry(podB, 'POD', 2, 'running'),
        entry(podB, 'app', 0, 'exited', { HostConfig: { NetworkMode: 'container:b-POD-0' } }),
      ],
      [],
      NODE,
    );
    // POD-2 runs, so no dead sandbox is kept, but app-0 (kept) still refers to POD-0.
    expect(selectGarbage(pods, 1).map((c) => c.id)).toEqual(['b-POD-1']);
    expect(
      selectGarbage(pods, 0)
        .map((c) => c.id)
        .sort(),
    ).toEqual(['b-POD-0', 'b-POD-1', 'b-app-0']);
  });
});
