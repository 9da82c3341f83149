// The rollout's decisions after the deploy, without I/O: given what was observed, what to do next. The shell
// (src/shell/) reads the cluster, asks here, carries out the answer and reports back with the next observation.
// The deploy's own decisions are in deploy.ts.

import { PlanError } from '../errors.ts';
import type { Service } from '../knative/types.ts';
import { patchFor, type ServicePatch } from './deploy.ts';
import { describePercents } from './traffic.ts';
import {
  isActive,
  progressionOf,
  record,
  stableOf,
  STATE_VERSION,
  type BaselineTarget,
  type RolloutState,
  type Step,
} from './state.ts';

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
