// The one writer of traffic: each write is a merge patch built on the Service as last seen (a 409 reads it again),
// and each is only done once users are served it. A block Knative refuses is answered at once; a rollback is one
// Knative routes whatever state the candidate is in. Flagger's pkg/router plays this part there.

import * as core from '@actions/core';
import {
  ConcurrentChange,
  KubeError,
  NameTaken,
  RolloutFailed,
  TimeoutError,
  TrafficRefused,
} from '../errors.ts';
import {
  condition,
  resolvedPercents,
  type Service,
  type Template,
  type TrafficTarget,
} from '../knative/types.ts';
import { onConflict } from '../rollout/conflict.ts';
import { type Next } from '../rollout/planner.ts';
import { patchFor, templateOf, type ServicePatch } from '../rollout/deploy.ts';
import { refusalOutlastsReady, routeVerdict } from '../rollout/route.ts';
import { decodeState, stableOf, STATE_ANNOTATION } from '../rollout/state.ts';
import { describePercents, wantedPercents } from '../rollout/traffic.ts';
import { formatDuration } from '../duration.ts';
import type { RunContext } from './context.ts';

/** A write that landed: the Service as written, the patch sent, and the candidate's percent in it. */
type Written = { service: Service; patch: ServicePatch; percent: number };
type Rollback = Extract<Next, { kind: 'rollback' }>;

/**
 * Where users' traffic is while Knative refuses a block: status.traffic, or, when the refusal cleared it (a bad tag
 * host: route.go assigns status.traffic before it fails), the split as it was before the write, which the ingress
 * still serves.
 */
function servedSplit(svc: Service, before: Service | undefined): string {
  const now = resolvedPercents(svc);
  return describePercents(now.size || !before ? now : resolvedPercents(before));
}

/** Writes the state's traffic and waits until users are served it; a rollback as rollBack does. */
export async function apply(ctx: RunContext, next: Next, waitMs = ctx.inputs.timeoutMs): Promise<void> {
  if (next.kind === 'rollback') {
    await rollBack(ctx, next, waitMs);
    return;
  }
  const written = await write(ctx, next);
  await confirm(ctx, next, written, waitMs);
}

/**
 * A rollback Knative routes whatever state the candidate is in: the block names no revision but the baseline
 * (the candidate's tag goes with it), and the template is put back to the stable revision's, so the Service's
 * latest ready revision, which `latestRevision` entries follow, is the stable one again and the next deploy
 * builds on it. Should Knative refuse it all the same, the safest block follows: the template as it was, and
 * every user entry that would not resolve to a Ready revision pinned to the stable revision.
 */
export async function rollBack(
  ctx: RunContext,
  next: Rollback,
  waitMs: number,
  /** The candidate was never created: its tag's entry goes back as the deploy found it. */
  tagAsFound?: TrafficTarget,
): Promise<void> {
  const stable = stableOf(next.state);
  const before = ctx.service;
  // Its template is worth one quick read, not the rollback's time: without it the traffic alone goes back.
  const rev = await ctx.client.getRevision(stable, ctx.briefly()).catch(() => undefined);
  const restore = rev && before?.spec.template.metadata?.name !== stable ? templateOf(rev) : undefined;
  let written: Written;
  try {
    written = await write(ctx, next, { template: restore, tagAsFound });
  } catch (e) {
    if (!(restore && e instanceof KubeError && (e.code === 400 || e.code === 422))) throw e;
    core.warning(
      `The stable revision's template could not be put back (${e.message}); rolling back the traffic alone.`,
    );
    written = await write(ctx, next, { tagAsFound });
  }
  try {
    await confirm(ctx, next, written, waitMs);
    return;
  } catch (e) {
    if (!(e instanceof TrafficRefused)) throw e;
    core.warning(`${e.message}. Writing the safest block: ${stable} alone.`);
  }
  const routable = await routableTargets(ctx, ctx.service ?? written.service);
  written = await write(ctx, next, {
    template: restore ? before?.spec.template : undefined,
    routable,
  });
  await confirm(ctx, next, written, ctx.until === undefined ? waitMs : Math.max(500, ctx.until - Date.now()));
}

/** Which traffic entries resolve to a Ready revision now: read once per revision they name. */
async function routableTargets(ctx: RunContext, svc: Service): Promise<(t: TrafficTarget) => boolean> {
  const latest = svc.status?.latestReadyRevisionName;
  const names = new Set<string>();
  for (const t of svc.spec.traffic ?? []) {
    const n = t.latestRevision ? latest : t.revisionName;
    if (n) names.add(n);
  }
  const ready = new Set<string>();
  for (const n of names) {
    const r = await ctx.client.getRevision(n, ctx.briefly()).catch(() => undefined);
    if (r && condition(r, 'Ready')?.status === 'True') ready.add(n);
  }
  return (t) => {
    const n = t.latestRevision ? latest : t.revisionName;
    return n !== undefined && ready.has(n);
  };
}

/**
 * Writes the state's traffic, built on the Service as last seen. A 409 reads it again and rebuilds, unless
 * another run changed the rollout meanwhile (a rollback or promote command, a newer deploy): then this run
 * stops without writing over it (onConflict decides). A 409 that finds this very write in place (its answer was
 * lost, and the retry carried the old resourceVersion) takes it as written. While the run puts traffic back,
 * the write keeps trying until ctx.until.
 */
export async function write(
  ctx: RunContext,
  next: Next,
  extra: { template?: Template; routable?: (t: TrafficTarget) => boolean; tagAsFound?: TrafficTarget } = {},
): Promise<Written> {
  const expected = ctx.service?.metadata.annotations?.[STATE_ANNOTATION];
  let state = next.state;
  let sent: ServicePatch | undefined;
  const written = await ctx.client.update(
    ctx.inputs.service,
    (fresh) => {
      const found = fresh.metadata.annotations?.[STATE_ANNOTATION];
      if (sent && found === sent.metadata.annotations[STATE_ANNOTATION])
        return { patch: undefined, result: sent };
      state = next.state;
      if (found !== expected) {
        const other = decodeState(found).state;
        const decision = onConflict(other, next, ctx.date());
        if (decision.kind === 'stop') throw new ConcurrentChange(decision.message, decision.found);
        state = decision.state;
        if (decision.warning) core.warning(decision.warning);
      }
      const patch = patchFor(fresh, state, extra);
      sent = patch;
      return { patch, result: patch };
    },
    ctx.service,
    { until: ctx.until },
  );
  const before = decodeState(expected).state?.phase;
  ctx.service = written.service;
  await ctx.opts.deployments?.follow(state, written.service, before);
  return { service: written.service, patch: written.result, percent: state.percent };
}

/**
 * Waits until users are served the traffic just written: the generation observed, the split as asked and
 * RoutesReady True. A block Knative refuses is answered at once with TrafficRefused, not by waiting out the time.
 */
export async function confirm(ctx: RunContext, next: Next, written: Written, waitMs: number): Promise<void> {
  const generation = written.service.metadata.generation ?? 0;
  const wanted = (svc: Service) =>
    wantedPercents(written.patch.spec.traffic, svc.status?.latestReadyRevisionName);
  try {
    ctx.service = await ctx.client.waitForService(
      ctx.inputs.service,
      watchingState(written.service, (svc) => {
        const v = routeVerdict(svc, generation, wanted(svc));
        if (v.kind === 'refused')
          throw new TrafficRefused(v.reason, v.message, servedSplit(svc, written.service));
        return v.kind === 'served' ? svc : undefined;
      }),
      // A rollback is confirmed even when the run is being cancelled, until the cancelled run's time is up.
      { timeoutMs: waitMs, signal: next.kind === 'rollback' ? ctx.hardStop : ctx.signal },
      written.service,
    );
    // The chart shows users' traffic: a split counts from when the route serves it, not from its write (a block
    // Knative refuses, or one the run never saw served, is not drawn).
    ctx.mark(written.percent);
  } catch (e) {
    if (e instanceof TrafficRefused)
      ctx.service = (await ctx.client.getService(ctx.inputs.service).catch(() => undefined)) ?? ctx.service;
    if (e instanceof TimeoutError) {
      const last = (e as TimeoutError<Service>).last;
      const rr = last ? condition(last, 'RoutesReady') : undefined;
      throw new RolloutFailed(
        `the route did not report ${describePercents(wanted(last ?? written.service))} within ${formatDuration(waitMs)}` +
          (rr?.message ? ` (${rr.reason}: ${rr.message})` : ''),
      );
    }
    throw e;
  }
}

/**
 * A wait's check that also watches the rollout's state: once another run has changed it (a rollback, a
 * promotion, a racing advance, a newer deploy), the wait stops at once with ConcurrentChange, and this run writes
 * nothing more. `mine` is the Service as this run last wrote or read it.
 */
export function watchingState<T>(
  mine: Service | undefined,
  check: (svc: Service) => T | undefined,
): (svc: Service) => T | undefined {
  const expected = mine?.metadata.annotations?.[STATE_ANNOTATION];
  return (svc) => {
    const found = svc.metadata.annotations?.[STATE_ANNOTATION];
    if (found !== expected) {
      const other = decodeState(found).state;
      throw new ConcurrentChange(
        'another run changed this rollout while this run waited for the cluster' +
          (other ? ` (it is now ${other.phase} of ${other.candidate} at ${other.percent}%)` : '') +
          ', so this run stops without writing over it',
        other,
      );
    }
    return check(svc);
  };
}

/**
 * The check of the wait for a candidate: Ready, and its tag served (status.traffic resolves the tag to it at the
 * observed generation and RoutesReady is True: the gateway serves it). A failed candidate, a name taken, or a
 * refusal that waiting for the candidate will not end stop the wait at once.
 */
export function candidateServed(candidate: string, tag: string, minGeneration: number, before?: Service) {
  return (svc: Service): Service | undefined => {
    const failedRev =
      svc.status?.latestCreatedRevisionName === candidate ? condition(svc, 'ConfigurationsReady') : undefined;
    if (failedRev?.status === 'False') {
      throw new RolloutFailed(
        `revision ${candidate} failed: ${failedRev.message ?? failedRev.reason ?? 'not ready'}`,
      );
    }
    const routes = condition(svc, 'RoutesReady');
    const config = condition(svc, 'ConfigurationsReady');
    const clash =
      routes?.status === 'False' && routes.reason === 'RevisionNameTaken'
        ? 'RevisionNameTaken'
        : (svc.status?.observedGeneration ?? 0) >= minGeneration &&
            config?.status === 'False' &&
            config.reason === 'RevisionFailed' &&
            /already exists/.test(config.message ?? '')
          ? 'RevisionFailed: already exists'
          : undefined;
    if (clash) {
      throw new NameTaken(
        `revision ${candidate} cannot be created: the name is taken by a revision with another spec (${clash}). ` +
          `Give a new 'revision-name', or push a new commit (the default, <service>-<sha7>, changes with every commit)`,
      );
    }
    if ((svc.status?.observedGeneration ?? 0) < minGeneration) return undefined;
    if (routes?.status === 'False') {
      const refused = {
        kind: 'refused' as const,
        reason: routes.reason ?? '',
        message: routes.message ?? '',
      };
      if (refusalOutlastsReady(refused, svc, candidate))
        throw new TrafficRefused(refused.reason, refused.message, servedSplit(svc, before));
      return undefined;
    }
    const target = svc.status?.traffic?.find((t) => t.tag === tag);
    return target?.revisionName === candidate && routes?.status === 'True' ? svc : undefined;
  };
}
