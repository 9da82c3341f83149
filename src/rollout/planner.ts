// The rollout's decisions, without I/O: given what was observed, what to do next. The shell in main.ts reads
// the cluster, asks here, carries out the answer and reports back with the next observation.

import { InputError, type Container, type Inputs, type Step, type Template } from '../inputs.ts';
import { resolvedPercents, type Revision, type Service, type TrafficTarget } from '../knative/types.ts';
import { buildTraffic, describePercents } from './traffic.ts';
import {
  encodeState,
  isActive,
  record,
  stableOf,
  STATE_ANNOTATION,
  STATE_VERSION,
  type BaselineTarget,
  type RolloutState,
} from './state.ts';

/** A decision the action cannot take: the message says what is there and how to proceed. */
export class PlanError extends Error {
  override name = 'PlanError';
}

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

export function patchFor(svc: Service, state: RolloutState, template?: Template): ServicePatch {
  const traffic = buildTraffic(svc.spec.traffic ?? [], {
    tag: state.tag,
    stableTag: state.stableTag,
    baseline: state.baseline,
    candidate: state.candidate,
    percent: state.percent,
    promoted: state.phase === 'promoted',
  });
  return {
    metadata: {
      resourceVersion: svc.metadata.resourceVersion,
      annotations: { [STATE_ANNOTATION]: encodeState(state) },
    },
    spec: template ? { template, traffic } : { traffic },
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
  now: Date;
  run?: string;
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
  if (active && active.candidate === inputs.revisionName) return { kind: 'resume', state: active };

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

// ---- Stepping ---------------------------------------------------------------------------------------------

export type Verdict = { pass: true; detail: string } | { pass: false; detail: string };

export type Next =
  | { kind: 'set-step'; state: RolloutState; step: Step }
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

/** Where a resumed or running rollout stands: hold out the dwell of its current step. */
export function holdCurrent(state: RolloutState, now: Date): Next {
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

export function rollback(state: RolloutState, reason: string, now: Date): Next {
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
