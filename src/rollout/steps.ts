// Decisions the driver takes between the planner's: which decision is the promotion, where a promotion that is not
// confirmed waits, and the hold that starts when a step's traffic is served. Pure.

import { holdCurrent, type Next } from './planner.ts';
import type { RolloutState } from './state.ts';

/** Full traffic is the promotion, whether as the last decision or as a step to 100%. */
export function isPromotion(next: Next): boolean {
  return next.kind === 'promote' || (next.kind === 'set-step' && next.step.percent === 100);
}

/** Where the candidate waits for confirm-promotion: the last step it passed, or 0% when the steps go to 100. */
export function promotionWaitsAt(held: RolloutState | undefined, state: RolloutState): RolloutState {
  return held ?? { ...state, percent: 0 };
}

/** Once a step's traffic is served, its dwell counts from that moment. */
export function holdFromNow(state: RolloutState, now: Date): Next {
  return holdCurrent({ ...state, stepStartedAt: now.toISOString() }, now);
}

/** The write that lifts a pause and hands the rollout to whoever takes its next steps. */
export function resumedPark(state: RolloutState): Extract<Next, { kind: 'park' }> {
  return { kind: 'park', state, message: 'resumed' };
}
