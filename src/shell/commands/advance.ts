// `advance`, for scheduled runs: one turn at a rollout. Its health is checked (revision, probes, queries and
// webhooks over min-interval); a failure rolls back, a pass takes the next step once the dwell is over. Two runs at
// once take one step: the second finds the state changed when it writes, and stops.

import * as core from '@actions/core';
import { condition, isReady, type Service } from '../../knative/types.ts';
import { afterCheck, planAdvance, rollback, type Verdict } from '../../rollout/planner.ts';
import { isActive, reportedStatus, stableAfter, type RolloutState } from '../../rollout/state.ts';
import type { RunContext } from '../context.ts';
import { drive } from '../driver.ts';
import { hold, stopProbes } from '../dwell.ts';
import { done, dryRunStops } from '../outcome.ts';

export async function advance(ctx: RunContext, svc: Service): Promise<void> {
  const { inputs } = ctx;
  const state = ctx.stateOf(svc);
  const plan = planAdvance(state, ctx.now(), inputs.timeoutMs * 2);
  if (state) {
    ctx.report.candidate = state.candidate;
    ctx.report.stable = stableAfter(state);
  }
  if (plan.kind === 'skip') {
    core.info(`${inputs.service}: nothing to do: ${plan.reason}.`);
    // Nothing was done: a rollout under way is reported as it stands, a finished one as unchanged by this run.
    const status = isActive(state) ? reportedStatus(state) : 'unchanged';
    return done(ctx, status, `Nothing to do: ${plan.reason}.`, svc, state);
  }
  const current = state!;
  ctx.rollout = current;
  ctx.mark(current.percent);
  if (plan.kind === 'stale') {
    const next = rollback(current, plan.reason, ctx.date());
    if (dryRunStops(ctx, svc, next.state)) return;
    return drive(ctx, next);
  }
  core.startGroup(
    `Check ${current.candidate} at ${current.percent}%` +
      (plan.due
        ? ': its dwell is over, so a pass takes the next step'
        : `: the next step is due at ${new Date(plan.dueAt).toISOString()}`),
  );
  const verdict = await check(ctx, current);
  core.endGroup();
  const next = afterCheck(current, verdict, plan.due, ctx.date());
  if (!next) {
    const message =
      `${current.candidate} is healthy at ${current.percent}%; the next step is due at ` +
      `${new Date(plan.dueAt).toISOString()}.`;
    return done(ctx, 'progressing', message, svc, current);
  }
  if (dryRunStops(ctx, svc, next.state)) return;
  // The step just checked is where a promotion that is not confirmed yet stays.
  return drive(ctx, next, current.step >= 0 ? current : undefined);
}

/** The revision Ready, then its health over min-interval; a preview about to start its first step passes. */
async function check(ctx: RunContext, current: RolloutState): Promise<Verdict> {
  const rev = await ctx.client.getRevision(current.candidate);
  if (!isReady(rev)) {
    const ready = rev ? condition(rev, 'Ready') : undefined;
    const detail = `revision ${current.candidate} is not Ready (${ready?.reason ?? 'not found'}${ready?.message ? `: ${ready.message}` : ''})`;
    core.info(`✘ ${detail}`);
    return { pass: false, detail };
  }
  if (current.step < 0) return { pass: true, detail: 'starting the first step' };
  try {
    return await hold(
      ctx,
      current,
      current.percent,
      ctx.now() + ctx.inputs.minIntervalMs,
      `check ${current.percent}%`,
    );
  } finally {
    stopProbes(ctx);
  }
}
