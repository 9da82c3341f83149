// When a rollout cannot go on: another run changed it (its decision stands), this run was cancelled (traffic goes
// back, within the runner's time, on a rollout this run drives), or it failed mid-rollout (traffic goes back on
// the stable revision first). Each says exactly what was done and what was seen.

import * as core from '@actions/core';
import { cancellationOf } from '../cancellation.ts';
import { formatDuration } from '../duration.ts';
import { AbortedError, ConcurrentChange, KubeError, RolloutFailed } from '../errors.ts';
import { condition, resolvedPercents, type Service } from '../knative/types.ts';
import { onCancel } from '../rollout/cancel.ts';
import { describeBaseline, rollback, type Next } from '../rollout/planner.ts';
import { isActive, reportedStatus, sameRollout, type RolloutState } from '../rollout/state.ts';
import { describePercents } from '../rollout/traffic.ts';
import type { RunContext } from './context.ts';
import { done } from './outcome.ts';
import { rollBack } from './traffic.ts';

type Rollback = Extract<Next, { kind: 'rollback' }>;

/** How long a failed (not cancelled) run keeps trying to write its rollback, and waits for the route. */
const FAILED_WRITE_MS = 30_000;
const FAILED_CONFIRM_MS = 5_000;

/**
 * A run that ended in a reported state (rolled back by a verdict) says so itself; another run's change to the
 * rollout stands, and is told by Shell.execute. A cancelled run is handled by `cancelled`; anything else mid-rollout (a route that never
 * confirmed a step, an API failure) first puts traffic back on the stable revision. Returns only when a
 * cancelled run finds its promotion landed.
 */
export async function failedMidRollout(ctx: RunContext, e: unknown): Promise<void> {
  if (ctx.report.status) throw e;
  // Another run's change stands: Shell.execute says so (stopped), wherever in the run it was met.
  if (e instanceof ConcurrentChange) throw e;
  if (e instanceof AbortedError || ctx.signal?.aborted) return cancelled(ctx);
  const reason = e instanceof RolloutFailed ? e.message : `unexpected error: ${(e as Error).message}`;
  return emergencyRollback(ctx, reason);
}

/** Another run changed the rollout: say where traffic is now, and whether this rollout goes on. */
export async function stopped(ctx: RunContext, e: ConcurrentChange): Promise<ConcurrentChange> {
  const svc = await ctx.client.getService(ctx.inputs.service, ctx.briefly()).catch(() => undefined);
  const now = svc ? ` Traffic is on ${describePercents(resolvedPercents(svc))}.` : '';
  const f = e.found;
  const same = f !== undefined && sameRollout(f, ctx.rollout);
  const message = `Stopped: ${e.message}.${now}`;
  // The outputs say where the rollout is now, as the other run left it.
  if (svc) {
    const state = ctx.stateOf(svc);
    if (state && sameRollout(state, ctx.rollout)) ctx.reportOn(state);
    done(ctx, reportedStatus(state), message, svc, state);
  }
  return new ConcurrentChange(message, f, same && f.phase !== 'rolled-back');
}

/**
 * The runner cancelled the run (SIGINT, then SIGTERM 7.5 s later, then SIGKILL). Within that time, and built on
 * the Service as read now (or as last seen when it cannot be read), the run ends promoted (its promotion had
 * landed), rolled back (a rollout it drives inline), or where it found the rollout (see onCancel), and says which.
 */
export async function cancelled(ctx: RunContext): Promise<void> {
  const c = cancellationOf(ctx.signal)!;
  ctx.until = c.deadline;
  ctx.cancelSettled = true;
  // The step's log group is closed, so that what follows is not folded away with it.
  core.endGroup();
  const signal = c.signal === 'abort' ? 'the run was cancelled' : `${c.signal} from the runner`;
  core.warning(
    `Cancelled: ${signal} at ${new Date(c.at).toISOString()}; the run has until ` +
      `${new Date(c.deadline).toISOString()} to leave traffic on a revision Knative routes.`,
  );
  const fresh = await ctx.client.getService(ctx.inputs.service, ctx.briefly()).catch(() => undefined);
  if (!fresh) core.info('The Service could not be read again: acting on it as this run last saw it.');
  const svc = fresh ?? ctx.service;
  const reason = `the run was cancelled (${c.signal === 'abort' ? 'cancelled' : c.signal})`;
  return settleCancelled(ctx, svc, svc ? ctx.stateOf(svc) : undefined, reason, c.at);
}

async function settleCancelled(
  ctx: RunContext,
  svc: Service | undefined,
  found: RolloutState | undefined,
  reason: string,
  since: number,
  again = true,
): Promise<void> {
  const decision = onCancel(found, ctx.rollout, reason, ctx.date());
  const traffic = svc ? describePercents(resolvedPercents(svc)) : 'as it was (the Service could not be read)';
  switch (decision.kind) {
    case 'promoted': {
      const { state } = decision;
      ctx.report.stable = state.candidate;
      const message =
        `Cancelled after the promotion was written: ${state.candidate} has 100% of traffic` +
        (svc && served(svc) ? ', confirmed by the route.' : `; the route reports ${traffic} so far.`);
      done(ctx, 'promoted', message, svc!, state);
      return;
    }
    case 'rolled-back': {
      const message = `Cancelled: ${decision.state.candidate} is rolled back already. Traffic is on ${traffic}.`;
      done(ctx, 'rolled-back', message, svc!, decision.state);
      throw new RolloutFailed(message);
    }
    case 'leave': {
      const message = `Cancelled: traffic is left as it is, on ${traffic}: ${decision.why}.`;
      // A rollout under way is reported as it stands; a finished one (an earlier rollout's) was not this run's.
      const status = isActive(decision.state) ? reportedStatus(decision.state) : 'unchanged';
      if (svc) done(ctx, status, message, svc, decision.state);
      throw new RolloutFailed(message);
    }
    case 'rollback':
      try {
        return await putBack(ctx, svc!, decision.next, reason, Math.max(500, ctx.until! - Date.now()), since);
      } catch (e) {
        // The rollback's write found another state in place: this run's own late write (a promotion whose
        // answer was lost) or another run's. Decide once more on what is there.
        if (!(e instanceof ConcurrentChange) || !again) throw e;
        const now = await ctx.client.getService(ctx.inputs.service, ctx.briefly()).catch(() => undefined);
        if (!now) throw e;
        ctx.service = now;
        return settleCancelled(ctx, now, ctx.stateOf(now), reason, since, false);
      }
  }
}

/** Whether the route serves what the Service asks for: its generation observed and RoutesReady True. */
function served(svc: Service): boolean {
  return (
    (svc.status?.observedGeneration ?? 0) >= (svc.metadata.generation ?? 0) &&
    condition(svc, 'RoutesReady')?.status === 'True'
  );
}

/**
 * A failure mid-rollout: the baseline back at 100% within seconds, then say exactly what happened: confirmed,
 * written but not yet confirmed by the route, or not written at all.
 */
async function emergencyRollback(ctx: RunContext, reason: string): Promise<never> {
  ctx.until = Date.now() + FAILED_WRITE_MS;
  const fresh = await ctx.client.getService(ctx.inputs.service, ctx.briefly()).catch(() => undefined);
  const svc = fresh ?? ctx.service;
  const state = svc ? ctx.stateOf(svc) : undefined;
  if (!svc || !sameRollout(state, ctx.rollout) || !isActive(state)) {
    // Nothing of this run's is left in between: it ended, or another run has taken the rollout over.
    const now = svc ? ` Traffic is on ${describePercents(resolvedPercents(svc))}.` : '';
    throw new RolloutFailed(`Stopped: ${reason}.${now}`);
  }
  return putBack(ctx, svc, rollback(state, reason, ctx.date()), reason, FAILED_CONFIRM_MS);
}

/**
 * Writes the rollback built on `svc` and waits up to `confirmMs` for the route; records what happened. Returns
 * when it was written (confirmed or not); throws when it was not.
 */
async function putBack(
  ctx: RunContext,
  svc: Service,
  next: Rollback,
  reason: string,
  confirmMs: number,
  since?: number,
): Promise<never> {
  ctx.service = svc;
  const baseline = describeBaseline(next.state.baseline);
  const began = Date.now();
  core.info(`Putting traffic back on ${baseline}.`);
  let message: string;
  try {
    await rollBack(ctx, next, confirmMs);
    const after = formatDuration(Date.now() - (since ?? began));
    message = `Stopped (${reason}): traffic is back on ${baseline}, confirmed by the route ${after} after ${since ? 'the signal' : 'the failure'}.`;
  } catch (e) {
    if (e instanceof ConcurrentChange) throw e;
    const now = describePercents(resolvedPercents(ctx.service ?? svc));
    const state = ctx.service ? ctx.stateOf(ctx.service) : undefined;
    if (!(state?.phase === 'rolled-back' && sameRollout(state, next.state))) {
      // A request that got no answer may still be applied by the API server: the state on the Service says.
      const late =
        e instanceof KubeError && e.code === 0 ? ' (a write that got no answer may still land)' : '';
      const message =
        `Stopped (${reason}), and the rollback could not be written: ${(e as Error).message}${late}. Traffic ` +
        `is still ${now}: run the action with command: rollback to put it on ${baseline}`;
      done(ctx, 'failed', message, ctx.service ?? svc, state);
      throw new RolloutFailed(message);
    }
    message =
      `Stopped (${reason}): the rollback to ${baseline} is written, but the route had not confirmed it ` +
      `after ${formatDuration(confirmMs)} (${(e as Error).message}). Traffic is on ${now}.`;
  }
  done(ctx, 'rolled-back', message, ctx.service ?? svc, next.state);
  throw new RolloutFailed(message);
}
