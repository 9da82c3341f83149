// `resume`: a paused rollout goes on, its step's dwell counted from now, inline or by scheduled runs.

import * as core from '@actions/core';
import type { Service } from '../../knative/types.ts';
import { holdCurrent, resumeRollout } from '../../rollout/planner.ts';
import { progressionOf } from '../../rollout/state.ts';
import { resumedPark } from '../../rollout/steps.ts';
import type { RunContext } from '../context.ts';
import { drive } from '../driver.ts';
import { done, dryRunStops } from '../outcome.ts';
import { write } from '../traffic.ts';

export async function resume(ctx: RunContext, svc: Service): Promise<void> {
  const { opts } = ctx;
  const state = resumeRollout(
    ctx.stateOf(svc),
    svc.metadata.name,
    opts.actor,
    ctx.date(),
    ctx.inputs.progression,
  );
  ctx.rollout = state;
  ctx.reportOn(state);
  if (dryRunStops(ctx, svc, state)) return;
  ctx.mark(state.percent);
  const next = holdCurrent(state, ctx.date());
  if (progressionOf(state) === 'scheduled' && next.kind !== 'set-step') {
    // Scheduled runs take it from here; this run only lifts the pause.
    await write(ctx, resumedPark(state));
    const message =
      `Resumed the rollout of ${state.candidate} at ${state.percent}% (${opts.actor}): scheduled runs take ` +
      `the next step once the step's dwell, counted from now, is over.`;
    core.info(message);
    return done(ctx, 'progressing', message, ctx.service!, state);
  }
  core.info(`Resumed the rollout of ${state.candidate} at ${state.percent}% (${opts.actor}).`);
  if (next.kind === 'set-step') return drive(ctx, next);
  // Inline: the run holds the rest of the steps itself, from the state that says it is resumed.
  await write(ctx, resumedPark(state));
  return drive(ctx, next);
}
