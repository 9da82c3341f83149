// When a rollout cannot go on: another run changed it (its decision stands), or this run failed or was cancelled
// mid-rollout (traffic goes back on the stable revision first, and the log says exactly what was done).

import { AbortedError, ConcurrentChange, RolloutFailed } from '../errors.ts';
import { resolvedPercents } from '../knative/types.ts';
import { describeBaseline, rollback } from '../rollout/planner.ts';
import { isActive, sameRollout } from '../rollout/state.ts';
import { describePercents } from '../rollout/traffic.ts';
import type { RunContext } from './context.ts';
import { done } from './outcome.ts';
import { rollBack } from './traffic.ts';

/**
 * A run that ended in a reported state (rolled back by a verdict) says so itself; another run's change to the
 * rollout stands. Anything else mid-rollout (cancellation, a route that never confirmed a step, an API failure)
 * first puts traffic back on the stable revision.
 */
export async function failedMidRollout(ctx: RunContext, e: unknown): Promise<never> {
  if (ctx.report.status) throw e;
  if (e instanceof ConcurrentChange) throw await stopped(ctx, e);
  const reason =
    e instanceof AbortedError
      ? 'the run was cancelled'
      : e instanceof RolloutFailed
        ? e.message
        : `unexpected error: ${(e as Error).message}`;
  return emergencyRollback(ctx, reason);
}

/** Another run changed the rollout: say where traffic is now, and whether this rollout goes on. */
async function stopped(ctx: RunContext, e: ConcurrentChange): Promise<ConcurrentChange> {
  const svc = await ctx.client.getService(ctx.inputs.service).catch(() => undefined);
  const now = svc ? ` Traffic is on ${describePercents(resolvedPercents(svc))}.` : '';
  const f = e.found;
  const same = f !== undefined && sameRollout(f, ctx.rollout);
  return new ConcurrentChange(`Stopped: ${e.message}.${now}`, f, same && f.phase !== 'rolled-back');
}

/**
 * Cancellation or a failure mid-rollout: the baseline back at 100% within seconds, then say exactly what
 * happened: confirmed, written but not yet confirmed by the route, or not written at all.
 */
async function emergencyRollback(ctx: RunContext, reason: string): Promise<never> {
  const svc = await ctx.client.getService(ctx.inputs.service).catch(() => undefined);
  const state = svc ? ctx.stateOf(svc) : undefined;
  if (!svc || !sameRollout(state, ctx.rollout) || !isActive(state)) {
    // Nothing of this run's is left in between: it ended, or another run has taken the rollout over.
    const now = svc ? ` Traffic is on ${describePercents(resolvedPercents(svc))}.` : '';
    throw new RolloutFailed(`Stopped: ${reason}.${now}`);
  }
  ctx.service = svc;
  const next = rollback(state, reason, ctx.date());
  const baseline = describeBaseline(state.baseline);
  const version = svc.metadata.resourceVersion;
  let message = `Stopped (${reason}): traffic is back on ${baseline}.`;
  try {
    await rollBack(ctx, next, 5000);
  } catch (e) {
    const now = describePercents(resolvedPercents(ctx.service ?? svc));
    if (ctx.service?.metadata.resourceVersion === version) {
      throw new RolloutFailed(
        `Stopped (${reason}), and the rollback could not be written: ${(e as Error).message}. Traffic is still ` +
          `${now}: run the action with command: rollback to put it on ${baseline}`,
      );
    }
    message =
      `Stopped (${reason}): the rollback to ${baseline} is written, but the route had not confirmed it ` +
      `after 5s (${(e as Error).message}). Traffic is on ${now}.`;
  }
  done(ctx, 'rolled-back', message, ctx.service ?? svc, next.state);
  throw new RolloutFailed(message);
}
