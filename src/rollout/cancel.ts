// What a cancelled run does with the rollout it was driving, decided from the Service as it now stands (a fresh
// read, or as this run last saw it). Pure: the shell's recovery.ts carries it out.

import { rollback, type Next } from './planner.ts';
import { progressionOf, sameRollout, type RolloutState } from './state.ts';

export type OnCancel =
  /** This run's promotion landed: the run ends promoted. */
  | { kind: 'promoted'; state: RolloutState }
  /** The rollout is rolled back already (this run's rollback landed, or a rollback command's). */
  | { kind: 'rolled-back'; state: RolloutState }
  /** Traffic stays as it is: nothing of this run's is in between. */
  | { kind: 'leave'; state?: RolloutState; why: string }
  /** Traffic goes back on the stable revision. */
  | { kind: 'rollback'; next: Extract<Next, { kind: 'rollback' }> };

/**
 * A run cancelled while it drives a rollout inline (deploying, or stepping through its steps) rolls it back: its
 * split is only ever meant to last while this run watches it. It leaves alone what it does not drive: a
 * rollout another run has taken over, a paused one (a person holds it), and a scheduled one between steps (the
 * next `advance` checks it, as it would have anyway). A rollout that ended meanwhile is reported as it ended.
 */
export function onCancel(
  found: RolloutState | undefined,
  mine: RolloutState | undefined,
  reason: string,
  now: Date,
): OnCancel {
  if (!mine) return { kind: 'leave', state: found, why: 'this run had written nothing yet' };
  if (!found || !sameRollout(found, mine)) {
    return {
      kind: 'leave',
      state: found,
      why: found
        ? `another run has taken the rollout over (it is now ${found.phase} of ${found.candidate} at ${found.percent}%)`
        : 'the Service no longer carries its rollout state',
    };
  }
  if (found.phase === 'promoted') return { kind: 'promoted', state: found };
  if (found.phase === 'rolled-back') return { kind: 'rolled-back', state: found };
  if (found.paused) {
    return {
      kind: 'leave',
      state: found,
      why: `the rollout is paused at ${found.percent}% (by ${found.paused.by}) and holds there`,
    };
  }
  if (found.phase === 'stepping' && progressionOf(found) === 'scheduled') {
    return {
      kind: 'leave',
      state: found,
      why: `the rollout is scheduled: it stays at ${found.percent}%, and the next advance run checks it`,
    };
  }
  return { kind: 'rollback', next: rollback(found, reason, now) };
}
