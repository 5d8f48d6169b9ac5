/**
 * `status`: the project as `oc status` draws it. Routes lead to services, services to the
 * deployment configs whose pods they select, those to the image stream tags they deploy and the
 * build configs that push there, each with its latest deployments and builds; what is left over
 * (a lone build config, a bare pod) follows. Suggestions (`--suggest`) point at what users trip
 * over: no readiness probe, a route not admitted, failed builds and rollouts, a service that
 * selects nothing. Pure: the command lists the objects and prints the lines.
 */
import type { ApiObject, ObjectMeta } from '../api/index.js';
import type { Build } from '../api/kinds/build.js';
import type { BuildConfig } from '../api/kinds/build-config.js';
import { strategyFrom } from '../api/kinds/build-spec.js';
import type { Pod } from '../api/kinds/pod.js';
import type { PodTemplateSpec } from '../api/kinds/pod-template.js';
import type { ReplicationController } from '../api/kinds/replication-controller.js';
import type { Route } from '../api/kinds/route.js';
import type { Service } from '../api/kinds/service.js';
import { humanDuration } from '../api/kinds/time-columns.js';
import { matchesLabels, type LabelSelector } from '../api/selectors.js';

/** What `status` reads of a DeploymentConfig. */
export interface DeploymentConfigView extends ApiObject {
  spec: {
    template?: PodTemplateSpec;
    triggers?: {
      type?: string;
      imageChangeParams?: { from?: { name?: string; namespace?: string } };
    }[];
  };
  status?: { latestVersion?: number };
}

export interface ProjectObjects {
  routes: Route[];
  services: Service[];
  deploymentConfigs: DeploymentConfigView[];
  replicationControllers: ReplicationController[];
  buildConfigs: BuildConfig[];
  builds: Build[];
  pods: Pod[];
}

export interface StatusReport {
  lines: string[];
  suggestions: { severity: 'error' | 'warning' | 'info'; text: string }[];
}

const PHASE = 'openshift.io/deployment.phase';
const LATEST = 'openshift.io/deployment-config.latest-version';
const DC_NAME = 'openshift.io/deployment-config.name';

function ago(timestamp: string | undefined, now: Date): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return 'at an unknown time';
  const text = humanDuration(now.getTime() - t);
  return `${text[0]!.toLowerCase()}${text.slice(1)} ago`;
}

function mapSelector(map: Record<string, string> | undefined): LabelSelector {
  return Object.entries(map ?? {}).map(([key, value]) => ({
    key,
    operator: 'Equals' as const,
    values: [value],
  }));
}

function name(obj: { metadata: ObjectMeta }): string {
  return obj.metadata.name ?? '';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `istag/app:latest`, or `openshift/nodejs:18` for another project's. */
function istagText(from: { name?: string; namespace?: string } | undefined, ns: string): string {
  if (!from?.name) return '<unknown>';
  return from.namespace && from.namespace !== ns ? `${from.namespace}/${from.name}` : from.name;
}

function imageTriggerFrom(
  dc: DeploymentConfigView,
): { name?: string; namespace?: string } | undefined {
  return (dc.spec.triggers ?? []).find((t) => t.type === 'ImageChange')?.imageChangeParams?.from;
}

function hasReadinessProbe(template: PodTemplateSpec | undefined): boolean {
  const containers = template?.spec.containers ?? [];
  return containers.length > 0 && containers.every((c) => c.readinessProbe !== undefined);
}

function podsOf(objects: ProjectObjects, selector: LabelSelector): Pod[] {
  if (selector.length === 0) return [];
  return objects.pods.filter((p) => matchesLabels(selector, p.metadata.labels));
}

function describeDeployment(rc: ReplicationController, objects: ProjectObjects, now: Date): string {
  const version = rc.metadata.annotations?.[LATEST] ?? '?';
  const phase = rc.metadata.annotations?.[PHASE] ?? 'New';
  const pods = podsOf(objects, mapSelector(rc.spec.selector)).filter(
    (p) => !p.metadata.deletionTimestamp,
  );
  const desired = rc.spec.replicas ?? 0;
  switch (phase) {
    case 'Complete':
      return `deployment #${version} deployed ${ago(rc.metadata.creationTimestamp, now)}${desired > 0 || pods.length > 0 ? ` - ${plural(pods.length, 'pod')}` : ''}`;
    case 'Failed': {
      const reason = rc.metadata.annotations?.['openshift.io/deployment.status-reason'];
      return `deployment #${version} failed ${ago(rc.metadata.creationTimestamp, now)}${reason ? `: ${reason}` : ''}`;
    }
    default:
      return `deployment #${version} ${phase === 'Running' ? 'running' : 'pending'} for ${humanDuration(now.getTime() - Date.parse(rc.metadata.creationTimestamp ?? now.toISOString()))} - ${pods.length}/${desired} pods`;
  }
}

function describeBuild(build: Build, now: Date): string {
  const number = build.metadata.annotations?.['openshift.io/build.number'] ?? name(build);
  const phase = build.status?.phase ?? 'New';
  const started = build.status?.startTimestamp;
  switch (phase) {
    case 'Complete':
      return `build #${number} succeeded ${ago(build.status?.completionTimestamp, now)}`;
    case 'Failed':
    case 'Error':
      return `build #${number} failed ${ago(build.status?.completionTimestamp, now)}${build.status?.reason ? ` (${build.status.reason})` : ''}`;
    case 'Cancelled':
      return `build #${number} cancelled ${ago(build.status?.completionTimestamp, now)}`;
    case 'Running':
      return `build #${number} running for ${started ? humanDuration(now.getTime() - Date.parse(started)) : 'a moment'}`;
    default:
      return `build #${number} ${phase.toLowerCase()}`;
  }
}

function buildsOf(objects: ProjectObjects, bc: BuildConfig): Build[] {
  return objects.builds
    .filter((b) => b.metadata.labels?.['openshift.io/build-config.name'] === name(bc))
    .sort(
      (a, b) =>
        Number(b.metadata.annotations?.['openshift.io/build.number'] ?? 0) -
        Number(a.metadata.annotations?.['openshift.io/build.number'] ?? 0),
    );
}

function bcLine(bc: BuildConfig, ns: string): string {
  const strategy = bc.spec.strategy;
  const kind = strategy.type === 'Docker' ? 'docker' : 'source';
  const from = strategyFrom(strategy);
  const git = bc.spec.source?.git?.uri;
  const what = git ? `builds ${git}` : 'builds uploaded input';
  return `bc/${name(bc)} ${kind} ${what}${from?.name ? ` on ${istagText(from, ns)}` : ''}`;
}

/** Build configs that push to an image stream tag (`app:latest`). */
function bcsPushingTo(objects: ProjectObjects, istag: string): BuildConfig[] {
  return objects.buildConfigs.filter((bc) => {
    const to = bc.spec.output?.to;
    return to?.kind === 'ImageStreamTag' && to.name === istag;
  });
}

export function projectStatus(
  objects: ProjectObjects,
  project: string,
  server: string,
  now: Date,
): StatusReport {
  const lines: string[] = [`In project ${project} on server ${server}`];
  const suggestions: StatusReport['suggestions'] = [];
  const shownDcs = new Set<string>();
  const shownBcs = new Set<string>();
  const shownPods = new Set<string>();

  const dcBlock = (dc: DeploymentConfigView, indent: string): string[] => {
    shownDcs.add(name(dc));
    const out: string[] = [];
    const from = imageTriggerFrom(dc);
    const image = dc.spec.template?.spec.containers[0]?.image;
    out.push(
      from
        ? `${indent}dc/${name(dc)} deploys istag/${istagText(from, project)} <-`
        : `${indent}dc/${name(dc)} deploys ${image?.trim() || '<no image>'}`,
    );
    if (from && (!from.namespace || from.namespace === project)) {
      for (const bc of bcsPushingTo(objects, from.name ?? '')) {
        shownBcs.add(name(bc));
        out.push(`${indent}  ${bcLine(bc, project)}`);
        const latest = buildsOf(objects, bc)[0];
        if (latest) out.push(`${indent}    ${describeBuild(latest, now)}`);
      }
    }
    const rcs = objects.replicationControllers
      .filter((rc) => rc.metadata.annotations?.[DC_NAME] === name(dc))
      .sort(
        (a, b) =>
          Number(b.metadata.annotations?.[LATEST] ?? 0) -
          Number(a.metadata.annotations?.[LATEST] ?? 0),
      );
    for (const rc of rcs) {
      for (const p of podsOf(objects, mapSelector(rc.spec.selector))) shownPods.add(name(p));
    }
    if (rcs.length === 0)
      out.push(
        `${indent}  deployment #${dc.status?.latestVersion ?? 0} waiting on image or update`,
      );
    for (const rc of rcs.slice(0, 2))
      out.push(`${indent}  ${describeDeployment(rc, objects, now)}`);
    if (!hasReadinessProbe(dc.spec.template)) {
      suggestions.push({
        severity: 'info',
        text:
          `dc/${name(dc)} has no readiness probe to verify pods are ready to accept traffic or ensure deployment is successful.\n` +
          `  try: slipway set probe dc/${name(dc)} --readiness ...`,
      });
    }
    const failed = rcs[0]?.metadata.annotations?.[PHASE] === 'Failed';
    if (failed) {
      suggestions.push({
        severity: 'warning',
        text: `dc/${name(dc)} has failed its latest rollout.\n  try: slipway rollout status dc/${name(dc)} and slipway describe dc/${name(dc)}`,
      });
    }
    return out;
  };

  const dcsFor = (svc: Service): DeploymentConfigView[] => {
    const selector = mapSelector(svc.spec.selector);
    if (selector.length === 0) return [];
    return objects.deploymentConfigs.filter((dc) =>
      matchesLabels(selector, dc.spec.template?.metadata?.labels),
    );
  };

  const svcLine = (svc: Service): string => {
    const ip = svc.spec.clusterIP || '<pending>';
    const ports = (svc.spec.ports ?? [])
      .map((p) =>
        p.targetPort !== undefined && String(p.targetPort) !== String(p.port)
          ? `${p.port}->${p.targetPort}`
          : String(p.port),
      )
      .join(',');
    return ip === 'None'
      ? `svc/${name(svc)} (headless)${ports ? `:${ports}` : ''}`
      : `svc/${name(svc)} - ${ip}${ports ? `:${ports}` : ''}`;
  };

  const svcBody = (svc: Service, indent: string): string[] => {
    const out: string[] = [];
    const dcs = dcsFor(svc);
    for (const dc of dcs) out.push(...dcBlock(dc, indent));
    if (dcs.length === 0) {
      const selector = svc.spec.selector ?? {};
      const pods = podsOf(objects, mapSelector(selector));
      for (const p of pods) {
        shownPods.add(name(p));
        out.push(`${indent}pod/${name(p)} runs ${p.spec.containers[0]?.image ?? ''}`);
      }
      if (pods.length === 0 && Object.keys(selector).length > 0) {
        suggestions.push({
          severity: 'warning',
          text: `svc/${name(svc)} selects no pods: no deployment or pod has the labels ${Object.entries(
            selector,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`,
        });
      }
    }
    return out;
  };

  const byName = (a: { metadata: ObjectMeta }, b: { metadata: ObjectMeta }): number =>
    name(a).localeCompare(name(b));
  const shownSvcs = new Set<string>();
  for (const route of [...objects.routes].sort(byName)) {
    const svcName = route.spec.to?.name;
    const svc = objects.services.find((s) => name(s) === svcName);
    const tls = route.spec.tls ? 'https' : 'http';
    const host = route.spec.host ?? '<pending>';
    const path = route.spec.path ?? '';
    const port = route.spec.port?.targetPort;
    lines.push('');
    lines.push(
      `${tls}://${host}${path}${port !== undefined ? ` to pod port ${port}` : ''} (svc/${svcName ?? '?'})`,
    );
    const ingress = (
      (route.status?.ingress ?? []) as {
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
      }[]
    ).flatMap((i) => i.conditions ?? []);
    const refused = ingress.find((c) => c.type === 'Admitted' && c.status === 'False');
    if (refused) {
      suggestions.push({
        severity: 'error',
        text: `route/${name(route)} was not accepted by the router: ${refused.reason ?? ''}${refused.message ? ` (${refused.message})` : ''}`,
      });
    }
    if (svc && !shownSvcs.has(name(svc))) {
      shownSvcs.add(name(svc));
      lines.push(...svcBody(svc, '  '));
    } else if (!svc) {
      suggestions.push({
        severity: 'error',
        text: `route/${name(route)} is routing traffic to svc/${svcName ?? '?'}, but that service does not exist`,
      });
    }
  }
  for (const svc of [...objects.services].sort(byName)) {
    if (shownSvcs.has(name(svc))) continue;
    lines.push('');
    lines.push(svcLine(svc));
    lines.push(...svcBody(svc, '  '));
  }
  for (const dc of [...objects.deploymentConfigs].sort(byName)) {
    if (shownDcs.has(name(dc))) continue;
    lines.push('');
    lines.push(...dcBlock(dc, ''));
  }
  for (const bc of [...objects.buildConfigs].sort(byName)) {
    if (shownBcs.has(name(bc))) continue;
    lines.push('');
    lines.push(bcLine(bc, project));
    const latest = buildsOf(objects, bc)[0];
    if (latest) lines.push(`  ${describeBuild(latest, now)}`);
  }
  for (const bc of objects.buildConfigs) {
    const latest = buildsOf(objects, bc)[0];
    const phase = latest?.status?.phase;
    if (phase === 'Failed' || phase === 'Error') {
      suggestions.push({
        severity: 'error',
        text: `build/${name(latest!)} failed${latest!.status?.reason ? ` (${latest!.status.reason})` : ''}.\n  try: slipway logs build/${name(latest!)}`,
      });
    }
  }
  const ownedByBuild = (p: Pod): boolean =>
    (p.metadata.ownerReferences ?? []).some((r) => r.kind === 'Build');
  for (const pod of [...objects.pods].sort(byName)) {
    if (shownPods.has(name(pod)) || ownedByBuild(pod) || pod.metadata.ownerReferences?.length)
      continue;
    lines.push('');
    lines.push(`pod/${name(pod)} runs ${pod.spec.containers[0]?.image ?? ''}`);
  }
  if (lines.length === 1) {
    lines.push('');
    lines.push('You have no services, deployment configs, or build configs.');
    lines.push("Run 'slipway new-app' to create an application.");
  }
  return { lines, suggestions };
}
