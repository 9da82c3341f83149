// Every output of the action is set here: a Service's when its run ends, the run's over all Services, and those
// of a run that ends before any Service is acted on.

import * as core from '@actions/core';
import { tagUrl, type Service } from '../knative/types.ts';
import type { RolloutState } from '../rollout/state.ts';
import { worstStatus, type RunReport, type Status } from './report.ts';

/** A Service's outputs, from its report, the Service as last seen and the rollout's state. */
export function serviceOutputs(
  report: RunReport,
  svc: Service,
  state: RolloutState | undefined,
  tag: string,
): void {
  const percent = state && report.candidate === state.candidate ? state.percent : 0;
  // A tag that is no longer in spec.traffic (rolled back, a preview promoted or closed) has no URL.
  const candidateTag = state?.tag ?? tag;
  const tagged = (svc.spec.traffic ?? []).some((t) => t.tag === candidateTag);
  core.setOutput('status', report.status ?? '');
  core.setOutput('revision', report.candidate ?? '');
  core.setOutput('stable-revision', report.stable ?? '');
  core.setOutput('tag-url', (tagged && tagUrl(svc, candidateTag)) || '');
  core.setOutput('url', svc.status?.url ?? '');
  core.setOutput('percent', String(percent));
  core.setOutput(
    'traffic',
    JSON.stringify(
      (svc.status?.traffic ?? []).map((t) => ({
        revisionName: t.revisionName,
        percent: t.percent ?? 0,
        tag: t.tag,
        latestRevision: t.latestRevision,
        url: t.url,
      })),
    ),
  );
}

/** The outputs of a run that ends before any Service is acted on. */
export function earlyOutputs(status: Status, command: string, commentUrl?: string): void {
  core.setOutput('status', status);
  core.setOutput('command', command);
  if (commentUrl !== undefined) core.setOutput('comment-url', commentUrl);
}

/** Over several Services, the command and the most severe status; with none (advance found nothing) `unchanged`. */
export function runOutputs(reports: RunReport[], command: string): void {
  const any = reports.some((r) => r.status);
  if (any) core.setOutput('command', command);
  if (reports.length === 0 || any) core.setOutput('status', worstStatus(reports));
}

/** The reply to a comment command. */
export function commentOutput(url: string | undefined): void {
  core.setOutput('comment-url', url ?? '');
}
