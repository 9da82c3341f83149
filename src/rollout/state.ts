// The rollout's state, kept in an annotation on the Service and written in the same patch as each traffic
// change, so a later run (a re-run, a comment command, a scheduled advance) picks up where this one stopped.

import { formatDuration } from '../duration.ts';

export const STATE_ANNOTATION = 'knative-canary-action/rollout';
export const STATE_VERSION = 1;
/** Decisions kept in the annotation; older ones are dropped so the annotation stays small. */
export const HISTORY_LIMIT = 40;

export interface Step {
  /** Percent of traffic on the candidate during this step (1..100). */
  percent: number;
  /** How long to hold and analyse at this percent, in ms. */
  dwellMs: number;
}

/** `10% for 1m → 50% for 1m → 100%`. */
export function describeSteps(steps: Step[]): string {
  return steps
    .map((s) => (s.dwellMs ? `${s.percent}% for ${formatDuration(s.dwellMs)}` : `${s.percent}%`))
    .join(' → ');
}

export type Phase = 'deploying' | 'stepping' | 'promoted' | 'rolled-back';

export interface BaselineTarget {
  revisionName: string;
  percent: number;
}

export interface Decision {
  /** ISO time of the decision. */
  at: string;
  action:
    | 'deploy'
    | 'ready'
    | 'smoke'
    | 'step'
    | 'hold'
    | 'promote'
    | 'rollback'
    | 'superseded'
    | 'fail'
    | 'pause'
    | 'resume'
    /** The pull request of a preview was closed: the preview ended, rolled back. */
    | 'close';
  /** Candidate percent after the decision. */
  percent: number;
  verdict?: 'pass' | 'fail';
  detail?: string;
}

export interface RolloutState {
  v: typeof STATE_VERSION;
  candidate: string;
  /** Where traffic went before the rollout; rollback restores it. Largest first: [0] carries the stable tag. */
  baseline: BaselineTarget[];
  phase: Phase;
  /** Index into `steps` of the current step; -1 before the first. */
  step: number;
  /** Candidate percent: the step's while stepping, 100 once promoted, 0 before the first step and after a rollback. */
  percent: number;
  steps: Step[];
  tag: string;
  stableTag: string;
  startedAt: string;
  stepStartedAt?: string;
  /** The workflow run that last wrote this state. */
  run?: string;
  /** Who moves it from step to step: the deploying job (`inline`, the default) or scheduled `advance` runs. */
  progression?: 'inline' | 'scheduled';
  /** A paused rollout holds its traffic and `advance` leaves it alone; a preview is paused at 0% from the start. */
  paused?: { by: string; at: string; reason?: string };
  /** The GitHub Deployment that follows this rollout, and the one it replaces once promoted. */
  deployment?: { id: number; environment: string; replaces?: number };
  /** The pull request a preview was deployed from, and its head commit. */
  pr?: number;
  sha?: string;
  history: Decision[];
}

/** The tag a pull request's preview is deployed under. */
export function previewTag(pr: number): string {
  return `pr-${pr}`;
}

/** A preview: a rollout deployed from a pull request, under its `pr-<number>` tag. */
export function isPreview(state: Pick<RolloutState, 'pr' | 'tag'> | undefined): boolean {
  return state?.pr !== undefined && state.tag === previewTag(state.pr);
}

export function stableOf(state: Pick<RolloutState, 'baseline'>): string {
  return state.baseline[0]!.revisionName;
}

/** The stable revision once the rollout's phase is taken into account: the candidate, once promoted. */
export function stableAfter(state: RolloutState): string {
  return state.phase === 'promoted' ? state.candidate : stableOf(state);
}

export function progressionOf(state: RolloutState): 'inline' | 'scheduled' {
  return state.progression ?? 'inline';
}

/** Whether the rollout ever gave its candidate traffic: a step or a promotion was decided. */
export function hadTraffic(state: RolloutState): boolean {
  return state.history.some((d) => d.action === 'step' || d.action === 'promote');
}

/** A rollout still under way. A type guard that leaves a non-active state its own type in the other branch. */
export function isActive<S extends RolloutState>(
  state: S | undefined,
): state is S & { phase: 'deploying' | 'stepping' } {
  return state !== undefined && (state.phase === 'deploying' || state.phase === 'stepping');
}

export function encodeState(state: RolloutState): string {
  const trimmed = { ...state, history: state.history.slice(-HISTORY_LIMIT) };
  return JSON.stringify(trimmed);
}

/** Parses the annotation; a missing, foreign or corrupt value is reported rather than trusted. */
export function decodeState(text: string | undefined): { state?: RolloutState; problem?: string } {
  if (text === undefined || text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { problem: `annotation ${STATE_ANNOTATION} is not JSON; ignoring it` };
  }
  const s = v as Partial<RolloutState>;
  if (
    typeof s !== 'object' ||
    s === null ||
    s.v !== STATE_VERSION ||
    typeof s.candidate !== 'string' ||
    !Array.isArray(s.baseline) ||
    s.baseline.length === 0 ||
    !s.baseline.every((b) => typeof b?.revisionName === 'string' && typeof b.percent === 'number') ||
    !['deploying', 'stepping', 'promoted', 'rolled-back'].includes(s.phase as string) ||
    typeof s.step !== 'number' ||
    typeof s.percent !== 'number' ||
    !Array.isArray(s.steps) ||
    !Array.isArray(s.history)
  ) {
    return {
      problem: `annotation ${STATE_ANNOTATION} is not a rollout state this version understands; ignoring it`,
    };
  }
  return { state: s as RolloutState };
}

export function record(state: RolloutState, d: Omit<Decision, 'at' | 'percent'>, now: Date): RolloutState {
  return {
    ...state,
    history: [...state.history, { at: now.toISOString(), percent: state.percent, ...d }].slice(
      -HISTORY_LIMIT,
    ),
  };
}

/** Whether two states are of the same rollout: the same candidate, started at the same time. */
type RolloutId = Pick<RolloutState, 'candidate' | 'startedAt'>;
export function sameRollout(a: RolloutId | undefined, b: RolloutId | undefined): boolean {
  return a !== undefined && b !== undefined && a.candidate === b.candidate && a.startedAt === b.startedAt;
}

/**
 * The status a rollout's state is reported as, wherever it is reported (`status`, a run that another run's change
 * stopped, `advance`): finished rollouts by their phase, whether or not they were paused before; a rollout under
 * way as paused or progressing.
 */
export function reportedStatus(
  state: { phase: string; paused?: unknown } | undefined,
): 'unchanged' | 'promoted' | 'rolled-back' | 'paused' | 'progressing' {
  if (!state) return 'unchanged';
  if (state.phase === 'promoted' || state.phase === 'rolled-back') return state.phase;
  return state.paused ? 'paused' : 'progressing';
}
