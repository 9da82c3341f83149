// How a run ends for one Service: its status, message and outputs (set in one place), the dry run, and the table,
// status block and job summary that close the log.

import * as core from '@actions/core';
import { stringify } from 'yaml';
import { tagUrl, type Service } from '../knative/types.ts';
import { patchFor, type ServicePatch } from '../rollout/deploy.ts';
import { hadTraffic, STATE_ANNOTATION, type RolloutState } from '../rollout/state.ts';
import { serviceOutputs } from '../report/outputs.ts';
import { logStatus, logTable, markdownSummary, type Status } from '../report/report.ts';
import type { RunContext } from './context.ts';

/** Records how the run ended and sets the Service's outputs from it. */
export function done(
  ctx: RunContext,
  status: Status,
  message: string,
  svc: Service,
  state?: RolloutState,
): void {
  const { report } = ctx;
  report.status = status;
  report.message = message;
  report.traffic = svc.status?.traffic ?? [];
  if (state) {
    report.hadTraffic = hadTraffic(state);
    const step = state.steps[state.step];
    report.rollout = {
      phase: state.phase,
      percent: state.percent,
      step:
        state.phase === 'stepping' && step
          ? `step ${state.step + 1} of ${state.steps.length}` +
            (state.stepStartedAt && step.dwellMs
              ? `, dwell over at ${new Date(Date.parse(state.stepStartedAt) + step.dwellMs).toISOString()}`
              : '')
          : undefined,
      paused: state.paused?.by,
      tagUrl: state.phase === 'stepping' ? tagUrl(svc, state.tag) : undefined,
    };
  }
  serviceOutputs(report, svc, state, ctx.inputs.tag);
}

/**
 * With `dry-run`, says what would be sent instead of sending it, and ends the run as `planned`: true when it did
 * (the caller then returns).
 */
export function dryRunStops(
  ctx: RunContext,
  svc: Service,
  state: RolloutState,
  patch: ServicePatch = patchFor(svc, state),
): boolean {
  if (!ctx.inputs.dryRun) return false;
  core.startGroup('Dry run: the merge patch that would be sent');
  const { [STATE_ANNOTATION]: _s, ...rest } = patch.metadata.annotations;
  core.info(
    stringify({
      ...patch,
      metadata: { ...patch.metadata, annotations: { ...rest, [STATE_ANNOTATION]: '<rollout state>' } },
    }),
  );
  core.info(`Rollout state: ${JSON.stringify({ ...state, history: undefined })}`);
  core.endGroup();
  ctx.reportOn(state);
  done(
    ctx,
    'planned',
    `Dry run: nothing was written. Would send traffic as: ${patch.spec.traffic.map((t) => `${t.revisionName ?? 'latest'} ${t.percent}%${t.tag ? ` (${t.tag})` : ''}`).join(', ')}.`,
    svc,
    state,
  );
  return true;
}

/** The log's last words for this Service: the step table, the status block, the verdict; then the job summary. */
export async function finish(ctx: RunContext, succeeded: boolean): Promise<void> {
  const { report } = ctx;
  if (report.steps.length) core.info(`\n${logTable(report)}`);
  core.info(`\n${logStatus(report)}`);
  if (succeeded && report.message) core.info(report.message);
  if (process.env.GITHUB_STEP_SUMMARY) {
    try {
      await core.summary.addRaw(markdownSummary(report), true).write();
    } catch (e) {
      core.warning(`could not write the job summary: ${(e as Error).message}`);
    }
  }
}
