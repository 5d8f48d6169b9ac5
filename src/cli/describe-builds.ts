/**
 * `describe` for BuildConfigs, Builds and ImageStreams, in `oc describe`'s words: the webhook
 * URLs a user pastes into their git host, the latest builds, and for a build its cause,
 * revision, duration and, when it failed, the reason and the log tail.
 */
import type { Build } from '../api/kinds/build.js';
import type { BuildConfig, BuildTriggerPolicy } from '../api/kinds/build-config.js';
import type { BuildSpec } from '../api/kinds/build.js';
import type { ImageStream } from '../api/kinds/image-stream.js';
import { age } from '../util/age.js';
import type { DescribeWriter } from './describe-writer.js';

/** `1m20s`, as oc prints build durations (status.duration is in nanoseconds). */
export function formatDuration(nanos: number | undefined): string {
  if (nanos === undefined) return '';
  let seconds = Math.round(nanos / 1e9);
  const h = Math.floor(seconds / 3600);
  seconds -= h * 3600;
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

function ref(r: { kind?: string; namespace?: string; name?: string } | undefined): string {
  if (!r?.name) return '';
  return `${r.kind ?? ''} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`.trim();
}

/** The webhook URL of a trigger, with the secret left out as oc shows it. */
export function webhookUrl(
  server: string,
  namespace: string,
  name: string,
  type: 'github' | 'generic',
): string {
  return `${server.replace(/\/+$/, '')}/apis/build.openshift.io/v1/namespaces/${namespace}/buildconfigs/${name}/webhooks/<secret>/${type}`;
}

function describeCommonSpec(w: DescribeWriter, spec: BuildSpec | BuildConfig['spec']): void {
  const strategy = spec.strategy;
  const type = strategy?.type ?? (strategy?.dockerStrategy ? 'Docker' : 'Source');
  w.kv(0, 'Strategy', type);
  const git = spec.source?.git;
  if (git) {
    w.kv(0, 'URL', git.uri);
    if (git.ref) w.kv(0, 'Ref', git.ref);
  }
  if (spec.source?.binary) w.kv(0, 'Binary', 'provided on build');
  if (spec.source?.contextDir) w.kv(0, 'ContextDir', spec.source.contextDir);
  const from = strategy?.sourceStrategy?.from ?? strategy?.dockerStrategy?.from;
  w.kv(0, 'From Image', ref(from));
  if (strategy?.sourceStrategy?.incremental) w.kv(0, 'Incremental Build', 'yes');
  if (strategy?.dockerStrategy?.dockerfilePath)
    w.kv(0, 'Dockerfile Path', strategy.dockerStrategy.dockerfilePath);
  w.kv(0, 'Output to', ref(spec.output?.to));
  const env = strategy?.sourceStrategy?.env ?? strategy?.dockerStrategy?.env ?? [];
  if (env.length > 0)
    w.kv(0, 'Environment', env.map((e) => `${e.name}=${e.value ?? '<from reference>'}`).join('\n'));
  if (spec.source?.sourceSecret) w.kv(0, 'Source Secret', spec.source.sourceSecret.name);
  const hook = spec.postCommit;
  if (hook && (hook.script || hook.command || hook.args))
    w.kv(
      0,
      'Post Commit Hook',
      hook.script ?? [...(hook.command ?? []), ...(hook.args ?? [])].join(' '),
    );
}

function triggerLines(
  triggers: readonly BuildTriggerPolicy[],
  server: string,
  namespace: string,
  name: string,
): { key: string; value: string }[] {
  const lines: { key: string; value: string }[] = [];
  for (const t of triggers) {
    if (t.type === 'GitHub' || t.type === 'Generic') {
      const kind = t.type === 'GitHub' ? 'github' : 'generic';
      lines.push({
        key: `Webhook ${t.type}`,
        value: `URL: ${webhookUrl(server, namespace, name, kind)}`,
      });
    } else if (t.type === 'ImageChange') {
      lines.push({
        key: 'Triggered by',
        value: `Image change${t.imageChange?.from ? ` (${ref(t.imageChange.from)})` : ''}`,
      });
    } else if (t.type === 'ConfigChange') {
      lines.push({ key: 'Triggered by', value: 'Config change' });
    }
  }
  return lines;
}

export function describeBuildConfig(
  w: DescribeWriter,
  bc: BuildConfig,
  now: Date,
  related: { builds?: readonly Build[] | undefined; server?: string | undefined },
): void {
  const name = bc.metadata.name ?? '';
  const namespace = bc.metadata.namespace ?? '';
  w.kv(0, 'Latest Version', bc.status?.lastVersion ?? 'Never built');
  describeCommonSpec(w, bc.spec);
  w.kv(0, 'Run Policy', bc.spec.runPolicy ?? 'Serial');
  for (const line of triggerLines(
    bc.spec.triggers ?? [],
    related.server ?? 'https://SERVER',
    namespace,
    name,
  ))
    w.kv(0, line.key, line.value);
  w.kv(0, 'Builds History Limit', '');
  w.kv(1, 'Successful', bc.spec.successfulBuildsHistoryLimit ?? 5);
  w.kv(1, 'Failed', bc.spec.failedBuildsHistoryLimit ?? 5);
  const builds = [...(related.builds ?? [])].sort(
    (a, b) =>
      Date.parse(b.metadata.creationTimestamp ?? '') -
      Date.parse(a.metadata.creationTimestamp ?? ''),
  );
  if (builds.length === 0) {
    w.raw(0, '\nBuild\tStatus\tDuration\tCreation Time'.replace(/\t/g, '  '));
    return;
  }
  w.raw(0, '');
  w.raw(0, 'Build  Status  Duration  Creation Time');
  for (const b of builds.slice(0, 10)) {
    const phase = b.status?.phase ?? 'New';
    w.raw(
      0,
      `${b.metadata.name ?? ''}  ${phase.toLowerCase()}  ${formatDuration(b.status?.duration) || '-'}  ${b.metadata.creationTimestamp ?? ''} (${age(b.metadata.creationTimestamp, now)} ago)`,
    );
  }
}

export function describeBuild(w: DescribeWriter, build: Build, now: Date): void {
  const status = build.status ?? {};
  const phase = status.phase ?? 'New';
  w.kv(0, 'Status', status.reason ? `${phase} (${status.message ?? status.reason})` : phase);
  if (status.reason) w.kv(0, 'Reason', status.reason);
  w.kv(
    0,
    'Started',
    status.startTimestamp
      ? `${status.startTimestamp} (${age(status.startTimestamp, now)} ago)`
      : '',
  );
  w.kv(
    0,
    'Duration',
    status.duration !== undefined
      ? formatDuration(status.duration)
      : status.startTimestamp
        ? `running for ${age(status.startTimestamp, now)}`
        : '',
  );
  const config = build.metadata.annotations?.['openshift.io/build-config.name'];
  if (config) w.kv(0, 'Build Config', config);
  w.kv(0, 'Build Pod', `${build.metadata.name ?? ''}-build`);
  describeCommonSpec(w, build.spec);
  const rev = build.spec.revision?.git;
  if (rev) {
    if (rev.commit)
      w.kv(0, 'Commit', `${rev.commit.slice(0, 7)} (${(rev.message ?? '').split('\n')[0] ?? ''})`);
    if (rev.author?.name)
      w.kv(0, 'Author/Committer', `${rev.author.name} / ${rev.committer?.name ?? rev.author.name}`);
  }
  if (status.outputDockerImageReference) w.kv(0, 'Output Image', status.outputDockerImageReference);
  if (status.output?.to?.imageDigest) w.kv(0, 'Image Digest', status.output.to.imageDigest);
  const causes = build.spec.triggeredBy ?? [];
  if (causes.length > 0) w.kv(0, 'Build trigger cause', causes.map((c) => c.message).join('\n'));
  if (status.logSnippet && (phase === 'Failed' || phase === 'Error'))
    w.kv(0, 'Log Tail', status.logSnippet);
}

export function describeImageStream(w: DescribeWriter, stream: ImageStream, now: Date): void {
  w.kv(0, 'Image Repository', stream.status?.dockerImageRepository ?? '');
  const statusTags = stream.status?.tags ?? [];
  const specTags = stream.spec?.tags ?? [];
  const names = [...new Set([...specTags.map((t) => t.name), ...statusTags.map((t) => t.tag)])];
  w.kv(0, 'Tags', names.length);
  for (const tag of names.sort()) {
    const spec = specTags.find((t) => t.name === tag);
    const items = statusTags.find((t) => t.tag === tag)?.items ?? [];
    w.raw(0, '');
    w.raw(0, tag);
    w.raw(0, '-'.repeat(Math.max(tag.length, 3)));
    if (spec?.from) w.raw(1, `tagged from ${ref(spec.from).replace(/^DockerImage /, '')}`);
    if (items.length === 0) w.raw(1, 'no image yet');
    for (const [i, item] of items.entries()) {
      w.raw(1, `${i === 0 ? '* ' : '  '}${item.dockerImageReference ?? ''}`);
      w.raw(2, `${age(item.created, now)} ago`);
    }
  }
}
