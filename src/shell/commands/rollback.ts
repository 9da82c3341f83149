// `rollback [revision]`: the rollout's baseline (or the revision named) back at 100%, in a block Knative routes.

import * as core from '@actions/core';
import { InputError } from '../../errors.ts';
import { isReady, type Service } from '../../knative/types.ts';
import { describeBaseline, planRollback } from '../../rollout/planner.ts';
import type { RunContext } from '../context.ts';
import { done, dryRunStops } from '../outcome.ts';
import { apply } from '../traffic.ts';

export async function rollbackCommand(ctx: RunContext, svc: Service): Promise<void> {
  const { inputs } = ctx;
  const state = ctx.stateOf(svc);
  const target = inputs.revisionNameGiven ? await chosenRevision(ctx) : undefined;
  const plan = planRollback(svc, state, target, { tag: inputs.tag, stableTag: inputs.stableTag }, ctx.date());
  ctx.report.candidate = state?.candidate;
  ctx.report.stable = plan.target;
  if (dryRunStops(ctx, svc, plan.state, plan.patch)) return;
  core.startGroup(`Roll back to ${describeBaseline(plan.state.baseline)}`);
  await apply(ctx, { kind: 'rollback', state: plan.state, reason: 'rollback command' });
  core.endGroup();
  done(
    ctx,
    'rolled-back',
    `Rolled back: traffic is on ${describeBaseline(plan.state.baseline)}.`,
    ctx.service!,
    plan.state,
  );
}

/** The revision `revision-name` names: of this Service, and Ready. */
async function chosenRevision(ctx: RunContext): Promise<string> {
  const { inputs } = ctx;
  const target = inputs.revisionName;
  const rev = await ctx.client.getRevision(target);
  if (!rev || rev.metadata.labels?.['serving.knative.dev/service'] !== inputs.service) {
    throw new InputError(
      'revision-name',
      `revision "${target}" of Service "${inputs.service}" not found in namespace "${inputs.namespace}"`,
    );
  }
  if (!isReady(rev)) {
    throw new InputError(
      'revision-name',
      `revision "${target}" is not Ready, so it cannot take 100% of traffic`,
    );
  }
  return target;
}
