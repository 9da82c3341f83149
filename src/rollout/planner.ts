// The rollout's decisions, without I/O: given what was observed, what to do next. The shell in main.ts reads
// the cluster, asks here, carries out the answer and reports back with the next observation.

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
  progressionOf,
  record,
  stableOf,
  STATE_ANNOTATION,
  STATE_VERSION,
  type BaselineTarget,
  type RolloutState,
  type Step,
} from './state.ts';

// re-exported for src/shell.ts and src/main.ts until they move (issue 12)
export { PlanError };

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
  template?: Template,
  /** For a rollback Knative refused: which user entries resolve to a Ready revision (the rest are pinned to stable). */
  routable?: (t: TrafficTarget) => boolean,
): ServicePatch {
  const traffic = buildTraffic(svc.spec.traffic ?? [], {
    tag: state.tag,
    stableTag: state.stableTag,
    baseline: state.baseline,
    candidate: state.candidate,
    percent: state.percent,
    promoted: state.phase === 'promoted',
    pinned: state.phase === 'stepping',
    dropped: state.phase === 'rolled-back',
    routable,
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
  if (active && active.candidate === inputs.revisionName) return { kind: 'resume', state: active };
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
    patch: patchFor(service, state, template),
    superseded: active?.candidate,
  };
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

// ---- Stepping ---------------------------------------------------------------------------------------------

export type Verdict = { pass: true; detail: string } | { pass: false; detail: string };

export type Next =
  | { kind: 'set-step'; state: RolloutState; step: Step }
  /** Write the state and stop there: a preview at 0%, a pause. */
  | { kind: 'park'; state: RolloutState; message: string }
  | { kind: 'hold'; state: RolloutState; step: Step; untilMs: number }
  | { kind: 'promote'; state: RolloutState }
  | { kind: 'rollback'; state: RolloutState; reason: string };

/** After the candidate is Ready and passed its smoke test: the first step. */
export function afterSmoke(state: RolloutState, verdict: Verdict, now: Date): Next {
  if (!verdict.pass)
    return rollback(
      record(state, { action: 'smoke', verdict: 'fail', detail: verdict.detail }, now),
      `smoke test failed: ${verdict.detail}`,
      now,
    );
  const s = record(state, { action: 'smoke', verdict: 'pass', detail: verdict.detail }, now);
  return enterStep(s, 0, now);
}

function enterStep(state: RolloutState, index: number, now: Date): Next {
  const step = state.steps[index];
  if (!step) return promote(state, now);
  if (step.percent === 100 && step.dwellMs === 0) return promote(state, now);
  const next: RolloutState = {
    ...state,
    phase: 'stepping',
    step: index,
    percent: step.percent,
    stepStartedAt: now.toISOString(),
  };
  return { kind: 'set-step', state: record(next, { action: 'step', detail: `${step.percent}%` }, now), step };
}

/**
 * A preview: the candidate passed its smoke test and waits at 0% under its tag, paused, until a command
 * promotes or resumes it.
 */
export function afterPreviewSmoke(state: RolloutState, verdict: Verdict, by: string, now: Date): Next {
  if (!verdict.pass) return afterSmoke(state, verdict, now);
  const s = record(state, { action: 'smoke', verdict: 'pass', detail: verdict.detail }, now);
  const parked: RolloutState = {
    ...s,
    phase: 'stepping',
    step: -1,
    percent: 0,
    stepStartedAt: now.toISOString(),
    paused: { by, at: now.toISOString(), reason: 'preview' },
  };
  return {
    kind: 'park',
    state: record(parked, { action: 'pause', detail: `preview at 0% under tag ${state.tag}` }, now),
    message: `preview of ${state.candidate} at 0% under tag ${state.tag}`,
  };
}

/** Where a resumed or running rollout stands: hold out the dwell of its current step. */
export function holdCurrent(state: RolloutState, now: Date): Next {
  // A preview that is resumed begins with the first step.
  if (state.step < 0) return enterStep(state, 0, now);
  const step = state.steps[state.step];
  if (!step) return promote(state, now);
  const started = state.stepStartedAt ? Date.parse(state.stepStartedAt) : now.getTime();
  return { kind: 'hold', state, step, untilMs: started + step.dwellMs };
}

/** The verdict on the current step's dwell. */
export function afterHold(state: RolloutState, verdict: Verdict, now: Date): Next {
  const s = record(
    state,
    { action: 'hold', verdict: verdict.pass ? 'pass' : 'fail', detail: verdict.detail },
    now,
  );
  if (!verdict.pass) return rollback(s, `${state.percent}% step failed: ${verdict.detail}`, now);
  return enterStep(s, state.step + 1, now);
}

export function promote(state: RolloutState, now: Date, detail = 'all steps passed'): Next {
  const next: RolloutState = { ...state, phase: 'promoted', percent: 100, stepStartedAt: now.toISOString() };
  return { kind: 'promote', state: record(next, { action: 'promote', detail }, now) };
}

export function rollback(
  state: RolloutState,
  reason: string,
  now: Date,
): Extract<Next, { kind: 'rollback' }> {
  const next: RolloutState = { ...state, phase: 'rolled-back', percent: 0, stepStartedAt: now.toISOString() };
  return { kind: 'rollback', state: record(next, { action: 'rollback', detail: reason }, now), reason };
}

/** A rollback to a chosen revision (command rollback with revision-name), or to the state's baseline. */
export function planRollback(
  svc: Service,
  state: RolloutState | undefined,
  target: string | undefined,
  defaults: { tag: string; stableTag: string },
  now: Date,
): { state: RolloutState; patch: ServicePatch; target: string } {
  // Without a target, undo the last rollout: back to where traffic was before it, whatever phase it reached.
  if (!target && !state) {
    throw new PlanError(
      `Service "${svc.metadata.name}" has no rollout recorded by this action, so there is no stable revision to ` +
        "return to: give 'revision-name' to choose the revision to put back at 100%",
    );
  }
  const baseline: BaselineTarget[] = target ? [{ revisionName: target, percent: 100 }] : state!.baseline;
  const base: RolloutState = state ?? {
    v: STATE_VERSION,
    candidate: baseline[0]!.revisionName,
    baseline,
    phase: 'rolled-back',
    step: -1,
    percent: 0,
    steps: [],
    tag: defaults.tag,
    stableTag: defaults.stableTag,
    startedAt: now.toISOString(),
    history: [],
  };
  const next: RolloutState = {
    ...base,
    baseline,
    phase: 'rolled-back',
    percent: 0,
    stepStartedAt: now.toISOString(),
  };
  const recorded = record(next, { action: 'rollback', detail: `to ${describeBaseline(baseline)}` }, now);
  return { state: recorded, patch: patchFor(svc, recorded), target: stableOf(recorded) };
}

export function describeBaseline(b: BaselineTarget[]): string {
  return describePercents(new Map(b.map((t) => [t.revisionName, t.percent])));
}

// ---- Commands on a rollout in progress -------------------------------------------------------------------

function requireActive(state: RolloutState | undefined, service: string, what: string): RolloutState {
  if (!isActive(state)) {
    throw new PlanError(
      `no rollout in progress on Service "${service}"` +
        (state ? ` (the last one, of ${state.candidate}, ended ${state.phase})` : '') +
        `: nothing to ${what}`,
    );
  }
  return state;
}

/** Pause: traffic stays where it is, and advance leaves the rollout alone until it is resumed. */
export function pauseRollout(state: RolloutState | undefined, service: string, by: string, now: Date): Next {
  const s = requireActive(state, service, 'pause');
  if (s.phase !== 'stepping')
    throw new PlanError(`${s.candidate} is still being deployed: pause it once it is Ready`);
  if (s.paused)
    throw new PlanError(
      `the rollout of ${s.candidate} is already paused (by ${s.paused.by} at ${s.paused.at})`,
    );
  const next = { ...s, paused: { by, at: now.toISOString() } };
  return {
    kind: 'park',
    state: record(next, { action: 'pause', detail: `by ${by}` }, now),
    message: `paused the rollout of ${s.candidate} at ${s.percent}%`,
  };
}

/** The state without its pause, driven from now on as `progression` says. */
function unpaused(s: RolloutState, progression: RolloutState['progression']): RolloutState {
  const { paused: _p, ...base } = s;
  return { ...base, ...(progression ? { progression } : {}) };
}

/** Resume: the current step's dwell starts again from now (a preview's first step begins). */
export function resumeRollout(
  state: RolloutState | undefined,
  service: string,
  by: string,
  now: Date,
  progression = state?.progression,
): RolloutState {
  const s = requireActive(state, service, 'resume');
  if (!s.paused) throw new PlanError(`the rollout of ${s.candidate} is not paused`);
  const rest = unpaused(s, progression);
  return record({ ...rest, stepStartedAt: now.toISOString() }, { action: 'resume', detail: `by ${by}` }, now);
}

/**
 * Promote to a percent now: 100 promotes; less sets that percent as the current step, followed by the
 * configured steps above it. It also lifts a pause: promoting is the instruction to move on.
 */
export function promoteTo(
  state: RolloutState | undefined,
  service: string,
  percent: number,
  dwellMs: number,
  by: string,
  now: Date,
  /** Who takes the steps from here: this run (inline) or scheduled runs; default as before. */
  progression = state?.progression,
): Next {
  const s = requireActive(state, service, 'promote');
  const rest = unpaused(s, progression);
  if (percent === 100) return promote(rest, now, `promoted by ${by}`);
  if (percent <= s.percent) {
    throw new PlanError(
      `${s.candidate} already has ${s.percent}% of traffic: promote takes it higher; to lower it, roll back`,
    );
  }
  const same = s.steps.find((x) => x.percent === percent);
  const steps = [
    { percent, dwellMs: same?.dwellMs ?? dwellMs },
    ...s.steps.filter((x) => x.percent > percent),
  ];
  const next: RolloutState = {
    ...rest,
    phase: 'stepping',
    steps,
    step: 0,
    percent,
    stepStartedAt: now.toISOString(),
  };
  return {
    kind: 'set-step',
    state: record(next, { action: 'step', detail: `${percent}% by ${by}` }, now),
    step: steps[0]!,
  };
}

// ---- Scheduled progression ---------------------------------------------------------------------------------

export type AdvancePlan =
  | { kind: 'skip'; reason: string }
  /** The deploying run never finished (its runner was lost): roll back. */
  | { kind: 'stale'; reason: string }
  /** Check the candidate's health; `due` when the step's dwell is over, so that a pass takes the next step. */
  | { kind: 'check'; due: boolean; dueAt: number };

/** What a scheduled run does with one Service's rollout. Two runs reading the same state plan the same. */
export function planAdvance(
  state: RolloutState | undefined,
  nowMs: number,
  staleAfterMs: number,
): AdvancePlan {
  if (!state) return { kind: 'skip', reason: 'no rollout of this action on it' };
  if (!isActive(state))
    return { kind: 'skip', reason: `the rollout of ${state.candidate} is ${state.phase}` };
  if (progressionOf(state) !== 'scheduled') {
    return {
      kind: 'skip',
      reason: `the rollout of ${state.candidate} is inline: the job that deployed it takes its steps`,
    };
  }
  if (state.paused) {
    return {
      kind: 'skip',
      reason:
        state.paused.reason === 'preview'
          ? `${state.candidate} is a preview at 0%: promote or resume it to start its steps`
          : `the rollout of ${state.candidate} is paused (by ${state.paused.by} at ${state.paused.at})`,
    };
  }
  if (state.phase === 'deploying') {
    const started = Date.parse(state.startedAt);
    if (nowMs - started > staleAfterMs) {
      return {
        kind: 'stale',
        reason: `${state.candidate} has been deploying since ${state.startedAt}: the run that deployed it did not finish`,
      };
    }
    return { kind: 'skip', reason: `${state.candidate} is still being deployed and smoke-tested` };
  }
  const step = state.steps[state.step];
  const started = state.stepStartedAt ? Date.parse(state.stepStartedAt) : nowMs;
  const dueAt = started + (step?.dwellMs ?? 0);
  return { kind: 'check', due: nowMs >= dueAt, dueAt };
}

/** After an advance run's check: roll back on a failure, take the next step when due, or nothing. */
export function afterCheck(state: RolloutState, verdict: Verdict, due: boolean, now: Date): Next | undefined {
  if (!verdict.pass) return afterHold(state, verdict, now);
  if (!due) return undefined;
  if (state.step < 0) return enterStep(state, 0, now);
  return afterHold(state, verdict, now);
}
