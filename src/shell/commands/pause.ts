// `pause`: the rollout keeps its traffic where it is, and scheduled runs leave it alone until it is resumed.

import type { Service } from '../../knative/types.ts';
import { pauseRollout } from '../../rollout/planner.ts';
import type { RunContext } from '../context.ts';
import { done, dryRunStops } from '../outcome.ts';
import { write } from '../traffic.ts';

export async function pause(ctx: RunContext, svc: Service): Promise<void> {
  const next = pauseRollout(ctx.stateOf(svc), svc.metadata.name, ctx.opts.actor, ctx.date());
  ctx.reportOn(next.state);
  if (dryRunStops(ctx, svc, next.state)) return;
  ctx.mark(next.state.percent);
  await write(ctx, next);
  const message =
    `Paused the rollout of ${next.state.candidate} at ${next.state.percent}% (${ctx.opts.actor}): its traffic ` +
    `stays there, and scheduled runs leave it alone until it is resumed.`;
  done(ctx, 'paused', message, ctx.service!, next.state);
}
