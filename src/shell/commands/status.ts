// `status`: the rollout's state and its history, written nowhere.

import * as core from '@actions/core';
import { resolvedPercents, type Service } from '../../knative/types.ts';
import { reportedStatus, stableAfter } from '../../rollout/state.ts';
import type { RunContext } from '../context.ts';
import { done } from '../outcome.ts';

export function status(ctx: RunContext, svc: Service): void {
  const state = ctx.stateOf(svc);
  ctx.report.candidate = state?.candidate;
  ctx.report.stable = state ? stableAfter(state) : [...resolvedPercents(svc).keys()][0];
  if (state) {
    core.startGroup('Rollout history');
    for (const d of state.history)
      core.info(
        `${d.at}  ${d.action.padEnd(10)} ${String(d.percent).padStart(3)}%  ${d.verdict ?? ''} ${d.detail ?? ''}`,
      );
    core.endGroup();
  }
  done(
    ctx,
    reportedStatus(state),
    state
      ? `Rollout of ${state.candidate}: ${state.phase} at ${state.percent}%.`
      : 'No rollout recorded on this Service.',
    svc,
    state,
  );
}
