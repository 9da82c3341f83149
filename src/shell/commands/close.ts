// `close`, for a pull request that was closed (what `command: auto` runs on `pull_request` `closed`): its preview's
// `pr-<number>` tag goes. A preview still parked at 0% ends as a rollback does; an entry left under the tag alone
// is removed, the rest of the Service as it was read; with neither, nothing is written.

import * as core from '@actions/core';
import { stringify } from 'yaml';
import { formatDuration } from '../../duration.ts';
import { InputError, PlanError, RolloutFailed, TimeoutError } from '../../errors.ts';
import { resolvedPercents, type Service } from '../../knative/types.ts';
import { describeBaseline } from '../../rollout/planner.ts';
import { planClose, untagVerdict, type ClosePlan } from '../../rollout/preview.ts';
import { isPreview, stableAfter, type RolloutState } from '../../rollout/state.ts';
import type { RunContext } from '../context.ts';
import { done, dryRunStops } from '../outcome.ts';
import { apply } from '../traffic.ts';

export async function close(ctx: RunContext, svc: Service): Promise<void> {
  const pr = ctx.opts.pullRequest;
  if (pr === undefined) {
    throw new InputError(
      'command',
      'is close, which removes the preview of the pull request the event is about, and this event names none: ' +
        'run it on pull_request (types: [closed])',
    );
  }
  const state = ctx.stateOf(svc);
  const plan = planClose(svc, state, pr, ctx.opts.actor, ctx.date());
  const ours = isPreview(state) && state?.pr === pr;
  ctx.report.candidate = ours ? state?.candidate : undefined;
  ctx.report.stable = state ? stableAfter(state) : [...resolvedPercents(svc).keys()][0];
  switch (plan.kind) {
    case 'nothing':
      core.info(`Nothing to remove: ${plan.reason}.`);
      return done(ctx, 'unchanged', `Nothing to remove: ${plan.reason}.`, svc, state);
    case 'end':
      return endPreview(ctx, svc, pr, plan);
    case 'untag':
      return untag(ctx, svc, pr, state, plan);
  }
}

/** The preview parked at 0% ends as a rollback: the candidate and its tag named nowhere, the template put back. */
async function endPreview(
  ctx: RunContext,
  svc: Service,
  pr: number,
  plan: Extract<ClosePlan, { kind: 'end' }>,
): Promise<void> {
  const { state } = plan.next;
  ctx.reportOn(state);
  if (dryRunStops(ctx, svc, state)) return;
  ctx.mark(0);
  core.startGroup(`End the preview of ${state.candidate}: pull request #${pr} was closed`);
  await apply(ctx, plan.next);
  core.endGroup();
  done(
    ctx,
    'closed',
    `Pull request #${pr} was closed: its preview of ${state.candidate} is rolled back and tag ${plan.tag} ` +
      `removed. Traffic stays on ${describeBaseline(state.baseline)}.`,
    ctx.service!,
    state,
  );
}

/** Only the entry under the tag goes, in one merge patch on the Service as read (a 409 reads it again). */
async function untag(
  ctx: RunContext,
  svc: Service,
  pr: number,
  state: RolloutState | undefined,
  plan: Extract<ClosePlan, { kind: 'untag' }>,
): Promise<void> {
  const { inputs, opts } = ctx;
  const { tag } = plan;
  const target = plan.entry.revisionName ?? 'the latest revision';
  if (inputs.dryRun) {
    core.startGroup('Dry run: the merge patch that would be sent');
    core.info(stringify(plan.patch));
    core.endGroup();
    return done(
      ctx,
      'planned',
      `Dry run: nothing was written. Would remove tag ${tag} (${target}).`,
      svc,
      state,
    );
  }
  core.startGroup(`Remove tag ${tag} (${target}): pull request #${pr} was closed`);
  let gone: { reason: string; svc: Service } | undefined;
  const written = await ctx.client
    .update(
      inputs.service,
      (fresh) => {
        if (fresh === svc) return { patch: plan.patch, result: true };
        const again = planClose(fresh, ctx.stateOf(fresh), pr, opts.actor, ctx.date());
        if (again.kind === 'nothing') {
          gone = { reason: again.reason, svc: fresh };
          throw new PlanError(again.reason);
        }
        if (again.kind !== 'untag') {
          throw new PlanError(
            `Service "${inputs.service}" changed while tag ${tag} was being removed: a preview of #${pr} is on ` +
              'it again, so nothing was written. Run the action again to end it',
          );
        }
        return { patch: again.patch, result: true };
      },
      svc,
    )
    .catch((e: unknown) => {
      if (gone) return undefined;
      throw e;
    });
  if (!written) {
    // Another writer removed it meanwhile: what this run was for is done, by someone else.
    core.endGroup();
    return done(ctx, 'unchanged', `Nothing to remove: ${gone!.reason}.`, gone!.svc, state);
  }
  ctx.service = written.service;
  await served(ctx, written.service, tag);
  core.endGroup();
  done(
    ctx,
    'closed',
    `Pull request #${pr} was closed: removed tag ${tag} (${target}); nothing else of Service ` +
      `"${inputs.service}" changed.`,
    ctx.service,
    state,
  );
}

/** Waits until the route no longer serves the tag. */
async function served(ctx: RunContext, written: Service, tag: string): Promise<void> {
  const { inputs } = ctx;
  const generation = written.metadata.generation ?? 0;
  try {
    ctx.service = await ctx.client.waitForService(
      inputs.service,
      (s) => {
        const v = untagVerdict(s, generation, tag);
        if (v.kind === 'refused')
          throw new RolloutFailed(
            `tag ${tag} is removed from spec.traffic, but Knative refuses the block (${v.reason}: ${v.message})`,
          );
        return v.kind === 'served' ? s : undefined;
      },
      { timeoutMs: inputs.timeoutMs, signal: ctx.signal },
      written,
    );
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    throw new RolloutFailed(
      `tag ${tag} is removed from spec.traffic, but the route still served it after ` +
        formatDuration(inputs.timeoutMs),
    );
  }
}
