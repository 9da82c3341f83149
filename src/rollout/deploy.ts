// A deploy's decisions, without I/O: the template to write, the baseline it starts from, the patch that carries
// them with the rollout's state, and whether there is anything to deploy at all.

import { InputError, PlanError } from '../errors.ts';
import type { Inputs } from '../inputs.ts';
import {
  resolvedPercents,
  type Container,
  type Revision,
  type Service,
  type Template,
  type TrafficTarget,
} from '../knative/types.ts';
import { buildTraffic, describePercents } from './traffic.ts';
import {
  encodeState,
  isActive,
  isPreview,
  record,
  STATE_ANNOTATION,
  STATE_VERSION,
  type BaselineTarget,
  type RolloutState,
} from './state.ts';

export type PlanInputs = Pick<
  Inputs,
  | 'service'
  | 'revisionName'
  | 'tag'
  | 'stableTag'
  | 'steps'
  | 'acceptSplit'
  | 'image'
  | 'manifestTemplate'
  | 'env'
  | 'progression'
>;

/** The template to deploy: the Service's own with the new image and env, or the manifest's, named for the revision. */
export function desiredTemplate(current: Template, inputs: PlanInputs): Template {
  const base: Template = inputs.manifestTemplate
    ? structuredClone(inputs.manifestTemplate)
    : structuredClone(current);
  const containers: Container[] = base.spec.containers.map((c) => ({ ...c }));
  const main = containers[0]!;
  if (inputs.image) main.image = inputs.image;
  if (inputs.env.length) {
    const env = [...(main.env ?? [])];
    for (const e of inputs.env) {
      const i = env.findIndex((x) => x.name === e.name);
      if (i >= 0) env[i] = { name: e.name, value: e.value };
      else env.push({ name: e.name, value: e.value });
    }
    main.env = env;
  }
  return {
    ...base,
    metadata: { ...(base.metadata ?? {}), name: inputs.revisionName },
    spec: { ...base.spec, containers },
  };
}

/** Whether every field the desired spec sets has the same value in the running revision's (defaulted) spec. */
export function specMatches(desired: unknown, actual: unknown): boolean {
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    const byName = desired.every((d) => d && typeof d === 'object' && 'name' in d);
    if (byName) {
      return desired.every((d: { name: unknown }) =>
        specMatches(
          d,
          actual.find((a: { name?: unknown } | null) => a?.name === d.name),
        ),
      );
    }
    return desired.every((d, i) => specMatches(d, actual[i]));
  }
  if (desired && typeof desired === 'object') {
    if (!actual || typeof actual !== 'object') return false;
    return Object.entries(desired).every(([k, v]) => specMatches(v, (actual as Record<string, unknown>)[k]));
  }
  return desired === actual;
}

export interface ServicePatch {
  metadata: { resourceVersion?: string; annotations: Record<string, string> };
  spec: { template?: Template; traffic: TrafficTarget[] };
}

export function patchFor(
  svc: Service,
  state: RolloutState,
  opts: {
    /** The template to write with the traffic (a deploy's, or a rollback's stable one). */
    template?: Template;
    /** For a rollback Knative refused: which user entries resolve to a Ready revision (the rest are pinned to stable). */
    routable?: (t: TrafficTarget) => boolean;
    /** For a rollback of a candidate never created: its tag's entry as the deploy found it (TrafficPlan.tagAsFound). */
    tagAsFound?: TrafficTarget;
    /** Tags of other rollouts that ended with this write (a preview this deploy replaces): their entries go. */
    retired?: readonly string[];
  } = {},
): ServicePatch {
  const { template, routable, tagAsFound, retired = [] } = opts;
  const promoted = state.phase === 'promoted';
  const traffic = buildTraffic(svc.spec.traffic ?? [], {
    tag: state.tag,
    stableTag: state.stableTag,
    baseline: state.baseline,
    candidate: state.candidate,
    percent: state.percent,
    promoted,
    pinned: state.phase === 'stepping',
    dropped: state.phase === 'rolled-back',
    routable,
    tagAsFound: tagAsFound && tagAsFound.revisionName !== state.candidate ? tagAsFound : undefined,
    // A preview's tag ends with it: once promoted, `pr-<number>` would follow later, unrelated candidates.
    retired: promoted && isPreview(state) ? [...retired, state.tag] : retired,
  });
  return {
    metadata: {
      resourceVersion: svc.metadata.resourceVersion,
      annotations: { [STATE_ANNOTATION]: encodeState(state) },
    },
    spec: template ? { template, traffic } : { traffic },
  };
}

/** Labels Knative puts on a Revision itself (pkg/reconciler/configuration/resources/revision.go MakeRevision). */
const SERVER_LABEL = /^serving\.knative\.dev\//;
/** Annotations Knative's webhook or controllers set on a Revision, never written in a template. */
const SERVER_ANNOTATIONS = new Set([
  'serving.knative.dev/creator',
  'serving.knative.dev/lastModifier',
  'serving.knative.dev/routes',
  'serving.knative.dev/routingStateModified',
  'serving.knative.dev/lastPinned',
]);

/**
 * The template that makes a revision the Configuration's revision again: its name and spec, with the labels and
 * annotations its template had. Knative accepts an existing revision of the Configuration under a BYO name when
 * its spec is the same (CheckNameAvailability in pkg/reconciler/configuration/configuration.go) and sorts it
 * first when it searches for the latest ready revision, so `latestRevision` targets follow it again, and the next
 * deploy builds on it rather than on a failed candidate.
 */
export function templateOf(rev: Revision): Template {
  const pick = (m: Record<string, string> | undefined, drop: (k: string) => boolean) => {
    const out = Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !drop(k)));
    return Object.keys(out).length ? out : undefined;
  };
  const labels = pick(rev.metadata.labels, (k) => SERVER_LABEL.test(k));
  const annotations = pick(rev.metadata.annotations, (k) => SERVER_ANNOTATIONS.has(k));
  return {
    metadata: {
      name: rev.metadata.name,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: structuredClone(rev.spec),
  };
}

/** The baseline: where traffic goes now. One revision at 100%, or a split when the user accepts it. */
export function findBaseline(svc: Service, acceptSplit: boolean): BaselineTarget[] {
  const percents = resolvedPercents(svc);
  if (percents.size === 0) {
    throw new PlanError(
      `Service "${svc.metadata.name}" has no resolved traffic yet (status.traffic is empty): ` +
        'wait until its first revision is Ready, then run again',
    );
  }
  const baseline = [...percents]
    .map(([revisionName, percent]) => ({ revisionName, percent }))
    .sort((a, b) => b.percent - a.percent || a.revisionName.localeCompare(b.revisionName));
  if (baseline.length > 1 && !acceptSplit) {
    throw new PlanError(
      `Service "${svc.metadata.name}" already splits its traffic (${describePercents(percents)}), so there is no ` +
        'single stable revision. Run the action with command: rollback (and revision-name) to put one revision at ' +
        "100%, or set 'accept-split: true' to take this split as the baseline",
    );
  }
  return baseline;
}

/** A revision's spec never changes: a name already taken cannot carry a different image or env. */
function nameTaken(name: string): InputError {
  return new InputError(
    'revision-name',
    `"${name}" is already a revision with a different image or spec, and a revision never changes: give a new ` +
      'revision-name (the default, <service>-<sha7>, changes with every commit)',
  );
}

export type DeployPlan =
  | { kind: 'unchanged'; stable: string; reason: string }
  | { kind: 'resume'; state: RolloutState }
  | { kind: 'start'; state: RolloutState; patch: ServicePatch; superseded?: string };

export interface DeployObservation {
  service: Service;
  state?: RolloutState;
  /** The stable revision, for comparing specs. */
  stableRevision?: Revision;
  /** The revision already named `revision-name`, if there is one: a revision never changes. */
  namedRevision?: Revision;
  now: Date;
  run?: string;
  /** The GitHub Deployment created for this rollout. */
  deployment?: RolloutState['deployment'];
  /** A preview from a pull request. */
  pr?: number;
  sha?: string;
}

export function planDeploy(obs: DeployObservation, inputs: PlanInputs): DeployPlan {
  const { service, now } = obs;
  const active = isActive(obs.state) ? obs.state : undefined;
  const template = desiredTemplate(service.spec.template, inputs);
  // The template already carries this name (a re-run, a resumed or rolled-back rollout): Knative would refuse
  // a changed spec under it.
  const current = service.spec.template;
  if (current.metadata?.name === inputs.revisionName && !specMatches(template.spec, current.spec)) {
    throw nameTaken(inputs.revisionName);
  }
  // The name is a revision already (a rolled-back candidate, since its template is no longer the Service's):
  // Knative would refuse a different spec under it (RevisionNameTaken), and never move traffic.
  if (obs.namedRevision && !specMatches(template.spec, obs.namedRevision.spec))
    throw nameTaken(inputs.revisionName);
  // A push deploy of the very commit a pull request previews (a fast-forward merge) starts its own rollout of it:
  // the preview is parked, not driven, and its pr-<number> tag goes with it.
  const previewOfIt = active?.paused?.reason === 'preview' && obs.pr === undefined;
  if (active && active.candidate === inputs.revisionName && !previewOfIt)
    return { kind: 'resume', state: active };
  // A preview never replaces a rollout that has (or is about to have) user traffic; another preview it may.
  if (active && obs.pr !== undefined && active.paused?.reason !== 'preview') {
    throw new PlanError(
      `a rollout of ${active.candidate} is in progress (${active.phase} at ${active.percent}%): a preview ` +
        'would take its place. Promote or roll it back first',
    );
  }

  const baseline = active ? active.baseline : findBaseline(service, inputs.acceptSplit);
  const stable = baseline[0]!.revisionName;
  if (baseline.length === 1 && !active) {
    if (stable === inputs.revisionName) {
      if (obs.stableRevision && !specMatches(template.spec, obs.stableRevision.spec)) throw nameTaken(stable);
      return {
        kind: 'unchanged',
        stable,
        reason: `revision ${stable} is already the stable revision at 100%`,
      };
    }
    if (obs.stableRevision && specMatches(template.spec, obs.stableRevision.spec)) {
      return {
        kind: 'unchanged',
        stable,
        reason: `the stable revision ${stable} already runs this image and spec`,
      };
    }
  }
  let state: RolloutState = {
    v: STATE_VERSION,
    candidate: inputs.revisionName,
    baseline,
    phase: 'deploying',
    step: -1,
    percent: 0,
    steps: inputs.steps,
    tag: inputs.tag,
    stableTag: inputs.stableTag,
    startedAt: now.toISOString(),
    run: obs.run,
    progression: inputs.progression,
    ...(obs.deployment ? { deployment: obs.deployment } : {}),
    ...(obs.pr !== undefined ? { pr: obs.pr, sha: obs.sha } : {}),
    history: [],
  };
  if (active) {
    state.history = active.history;
    state = record(
      state,
      { action: 'superseded', detail: `${active.candidate} replaced by ${inputs.revisionName}` },
      now,
    );
  }
  state = record(
    state,
    { action: 'deploy', detail: `${inputs.revisionName} at 0% under tag ${inputs.tag}` },
    now,
  );
  return {
    kind: 'start',
    state,
    patch: patchFor(service, state, { template, retired: supersededTags(active, state) }),
    superseded: active?.candidate,
  };
}

/** The tag of a preview that a new rollout replaces goes with it, unless the new rollout uses it too. */
function supersededTags(active: RolloutState | undefined, state: RolloutState): string[] {
  if (!active || !isPreview(active)) return [];
  return active.tag === state.tag || active.tag === state.stableTag ? [] : [active.tag];
}

/** A deploy plan with the GitHub Deployment created for it, kept in the state written with the template. */
export function withDeployment(
  plan: Extract<DeployPlan, { kind: 'start' }>,
  deployment: NonNullable<RolloutState['deployment']>,
): Extract<DeployPlan, { kind: 'start' }> {
  // The same fields in the same order as planDeploy writes them with a deployment given.
  const { pr, sha, history, ...head } = plan.state;
  const state: RolloutState = { ...head, deployment, ...(pr !== undefined ? { pr, sha } : {}), history };
  return {
    ...plan,
    state,
    patch: {
      ...plan.patch,
      metadata: { ...plan.patch.metadata, annotations: { [STATE_ANNOTATION]: encodeState(state) } },
    },
  };
}
