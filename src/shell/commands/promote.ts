// `promote [percent]`: full traffic to the candidate now, or that percent as the current step, from which the
// rollout goes on through the steps above it.

import * as core from '@actions/core';
import { condition, isReady, type Service } from '../../knative/types.ts';
import { PlanError } from '../../errors.ts';
import { promoteTo } from '../../rollout/planner.ts';
import type { RunContext } from '../context.ts';
import { drive } from '../driver.ts';
import { done, dryRunStops } from '../outcome.ts';
import { apply } from '../traffic.ts';

export async function promote(ctx: RunContext, svc: Service): Promise<void> {
  const { inputs } = ctx;
  const state = ctx.stateOf(svc);
  const percent = inputs.percent ?? 100;
  if (state?.phase === 'promoted') {
    ctx.report.candidate = state.candidate;
    ctx.report.stable = state.candidate;
    return done(ctx, 'unchanged', `${state.candidate} is already promoted.`, svc, state);
  }
  const by = ctx.opts.actor;
  // The run that moves a rollout on says who takes its next steps: this job (inline) or scheduled runs.
  const next = promoteTo(
    state,
    svc.metadata.name,
    percent,
    inputs.intervalMs,
    by,
    ctx.date(),
    inputs.progression,
  );
  const current = state!;
  ctx.rollout = current;
  ctx.reportOn(current);
  if (dryRunStops(ctx, svc, next.state)) return;
  const rev = await ctx.client.getRevision(current.candidate);
  if (!isReady(rev)) {
    const ready = rev ? condition(rev, 'Ready') : undefined;
    throw new PlanError(
      `revision ${current.candidate} is not Ready (${ready?.reason ?? 'not found'}): it cannot take ${percent}% of traffic`,
    );
  }
  ctx.mark(current.percent);
  if (next.kind !== 'promote') {
    // Less than 100%: that percent is the current step, and the rollout goes on from there.
    core.info(`${by} sends ${percent}% of traffic to ${current.candidate}.`);
    return drive(ctx, next);
  }
  core.startGroup(`Promote ${current.candidate} to 100%`);
  await apply(ctx, next);
  core.endGroup();
  ctx.report.stable = current.candidate;
  done(
    ctx,
    'promoted',
    `Promoted ${current.candidate} to 100% of traffic (${by}).`,
    ctx.service!,
    next.state,
  );
}
