// What a write does when it finds, on a 409's fresh read, a rollout state other than the one this run last wrote:
// another run (a comment command, a scheduled run, a newer deploy) changed the rollout meanwhile. Pure.

import { rollback, type Next } from './planner.ts';
import { isActive, sameRollout, type RolloutState } from './state.ts';

export type OnConflict =
  /** Write this state (the one asked for, or a rollback rebuilt on what the other run left). */
  | { kind: 'write'; state: RolloutState; warning?: string }
  /** Stop without writing: the other run's decision stands. */
  | { kind: 'stop'; found?: RolloutState; message: string };

/**
 * A failed verdict's rollback wins over a pause or a step that another run took on the same rollout meanwhile: it
 * is rebuilt on what is there. Anything else stops, so a run never writes over another run's decision.
 */
export function onConflict(found: RolloutState | undefined, next: Next, now: Date): OnConflict {
  if (next.kind === 'rollback' && isActive(found) && sameRollout(found, next.state)) {
    return {
      kind: 'write',
      state: rollback(found, next.reason, now).state,
      warning:
        `Another run changed this rollout meanwhile (now ${found.phase} at ${found.percent}%` +
        `${found.paused ? `, paused by ${found.paused.by}` : ''}); it is rolled back all the same: ${next.reason}`,
    };
  }
  return {
    kind: 'stop',
    found,
    message:
      'another run changed this rollout meanwhile' +
      (found ? ` (it is now ${found.phase} of ${found.candidate} at ${found.percent}%)` : '') +
      ', so this run stops without writing over it',
  };
}
