// `deploy`: the new revision at 0% under its tag with the stable revision pinned, then Ready, smoke test, steps.
// A rollout of the same revision already under way is resumed where it stands.

import * as core from '@actions/core';
import { AbortedError, PlanError } from '../../errors.ts';
import { resolvedPercents, type Service } from '../../knative/types.ts';
import { describeBaseline } from '../../rollout/planner.ts';
import { planDeploy, withDeployment, type DeployObservation } from '../../rollout/deploy.ts';
import { describeSteps, type RolloutState } from '../../rollout/state.ts';
import { describePercents } from '../../rollout/traffic.ts';
import type { RunContext } from '../context.ts';
import { runRollout } from '../driver.ts';
import { done, dryRunStops } from '../outcome.ts';
import { failedMidRollout } from '../recovery.ts';

export async function deploy(ctx: RunContext, svc: Service): Promise<void> {
  const { inputs, opts } = ctx;
  const state = ctx.stateOf(svc);
  const baselineGuess = resolvedPercents(svc);
  const single = baselineGuess.size === 1 ? [...baselineGuess.keys()][0] : undefined;
  const stableRevision = single ? await ctx.client.getRevision(single) : undefined;
  const namedRevision =
    inputs.revisionName === single ? stableRevision : await ctx.client.getRevision(inputs.revisionName);
  const observed = (service: Service): DeployObservation => ({
    service,
    state: service === svc ? state : ctx.stateOf(service),
    now: ctx.date(),
    stableRevision,
    namedRevision,
    run: opts.runUrl,
    ...(opts.preview ? { pr: opts.preview.pr, sha: opts.preview.sha } : {}),
  });
  let plan = planDeploy(observed(svc), inputs);

  core.startGroup(`Plan: ${inputs.namespace}/${inputs.service}`);
  core.info(`Traffic now: ${describePercents(baselineGuess)}`);
  core.info(`Steps: ${describeSteps(inputs.steps)}`);
  core.info(
    `Limits: error rate ≤ ${(inputs.maxErrorRate * 100).toFixed(1)}%` +
      (inputs.maxLatencyP99Ms !== undefined ? `, p99 ≤ ${inputs.maxLatencyP99Ms} ms` : ', p99 not limited') +
      `; probes at ${inputs.probeRps} req/s`,
  );
  core.endGroup();

  if (plan.kind === 'unchanged') {
    core.info(`Nothing to deploy: ${plan.reason}.`);
    ctx.report.stable = plan.stable;
    ctx.report.candidate = inputs.revisionName;
    return done(ctx, 'unchanged', `Nothing to deploy: ${plan.reason}.`, svc);
  }
  if (dryRunStops(ctx, svc, plan.state, plan.kind === 'start' ? plan.patch : undefined)) return;

  let current: RolloutState;
  if (plan.kind === 'start') {
    // Cancelled while reading and planning: nothing is written.
    if (ctx.signal?.aborted) throw new AbortedError();
    // The Deployment first, so that its id is in the state written with the template.
    const deployment =
      opts.deployments &&
      (await opts.deployments.create({
        ref: opts.preview?.sha ?? opts.sha ?? '',
        service: inputs.service,
        namespace: inputs.namespace,
        candidate: inputs.revisionName,
        previous: state,
        pr: opts.preview?.pr,
      }));
    if (deployment) plan = withDeployment(plan, deployment);
    core.startGroup(`Deploy ${inputs.revisionName} at 0% under tag "${inputs.tag}"`);
    if (plan.superseded)
      core.warning(`A rollout of ${plan.superseded} was in progress: it is superseded and gets no traffic.`);
    let start = plan;
    // The plan above was made from `svc`; only a Service changed since (a 409) needs planning again.
    const written = await ctx.client
      .update(
        inputs.service,
        (fresh) => {
          if (fresh !== svc) {
            const again = planDeploy(observed(fresh), inputs);
            if (again.kind !== 'start')
              throw new PlanError(`the Service changed while deploying: ${again.kind}`);
            start = deployment ? withDeployment(again, deployment) : again;
          }
          return { patch: start.patch, result: start.state };
        },
        svc,
      )
      .catch(async (e: unknown) => {
        // Nothing was written: the deployment just created did not happen.
        if (deployment) await opts.deployments?.abandon(deployment, (e as Error).message);
        throw e;
      });
    current = written.result;
    ctx.service = written.service;
    if (start.superseded && state) await opts.deployments?.superseded(state, inputs.revisionName);
    await opts.deployments?.follow(current, written.service);
    core.info(
      `Wrote template ${inputs.revisionName}; stable ${describeBaseline(current.baseline)} stays pinned by name.`,
    );
    ctx.mark(0);
  } else if (plan.state.paused) {
    // A paused rollout of this revision (a preview, or a pause command) is held: deploying it again drives nothing.
    const { state: held } = plan;
    ctx.rollout = held;
    ctx.reportOn(held);
    const message =
      `${held.candidate} is already deployed, paused at ${held.percent}% by ${held.paused!.by}` +
      `${held.paused!.reason === 'preview' ? ' (a preview)' : ''}: resume or promote it to go on.`;
    core.info(message);
    return done(ctx, 'paused', message, svc, held);
  } else {
    current = plan.state;
    core.startGroup(`Resume rollout of ${current.candidate} (phase ${current.phase}, ${current.percent}%)`);
    core.info(`Found the rollout's state on the Service, written by ${current.run ?? 'an earlier run'}.`);
    ctx.mark(current.percent);
  }
  ctx.rollout = current;
  ctx.reportOn(current);
  core.endGroup();

  try {
    await runRollout(ctx, current);
  } catch (e) {
    await failedMidRollout(ctx, e);
  }
}
