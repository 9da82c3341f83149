// What closing a pull request does to its preview, without I/O: the preview still parked at 0% ends (rolled back,
// its `pr-<number>` tag going with it), an entry left under the tag alone is removed, and anything else is left as
// it is. A preview's tag also goes when it is promoted or replaced (src/rollout/deploy.ts patchFor, planDeploy).

import { PlanError } from '../errors.ts';
import { condition, type Service, type TrafficTarget } from '../knative/types.ts';
import type { Next } from './planner.ts';
import type { RouteVerdict } from './route.ts';
import { isActive, isPreview, previewTag, record, type RolloutState } from './state.ts';

/** The merge patch that removes one entry: the rest of `spec.traffic` as read, nothing else of the Service. */
export interface UntagPatch {
  metadata: { resourceVersion?: string };
  spec: { traffic: TrafficTarget[] };
}

export type ClosePlan =
  /** Nothing of the pull request's is on the Service: nothing is written. */
  | { kind: 'nothing'; tag: string; reason: string }
  /** Its preview is still parked at 0%: it ends as a rollback does (the candidate never had traffic). */
  | { kind: 'end'; tag: string; next: Extract<Next, { kind: 'rollback' }> }
  /** Only an entry under its tag is left (a preview promoted or replaced by an earlier version): it goes. */
  | { kind: 'untag'; tag: string; patch: UntagPatch; entry: TrafficTarget };

/** What to do for pull request `pr`, closed, with the Service as read and the rollout state on it. */
export function planClose(
  svc: Service,
  state: RolloutState | undefined,
  pr: number,
  by: string,
  now: Date,
): ClosePlan {
  const tag = previewTag(pr);
  const name = svc.metadata.name;
  if (isActive(state) && isPreview(state) && state.pr === pr) {
    if (state.percent > 0) {
      throw new PlanError(
        `pull request #${pr} is closed, but its rollout of ${state.candidate} on Service "${name}" has ` +
          `${state.percent}% of traffic, so it is left as it is (tag ${tag} too): promote it or roll it back ` +
          '(command: rollback)',
      );
    }
    const reason = `pull request #${pr} was closed`;
    // Over, not paused: the pause was the preview's wait for a command.
    const { paused: _paused, ...rest } = state;
    const ended: RolloutState = {
      ...rest,
      phase: 'rolled-back',
      percent: 0,
      stepStartedAt: now.toISOString(),
    };
    const detail = `${reason} (${by}): the preview ends, and tag ${tag} with it`;
    return {
      kind: 'end',
      tag,
      next: { kind: 'rollback', state: record(ended, { action: 'close', detail }, now), reason },
    };
  }
  if (isActive(state) && (state.tag === tag || state.stableTag === tag)) {
    return {
      kind: 'nothing',
      tag,
      reason: `tag ${tag} belongs to the rollout of ${state.candidate} in progress, not to a preview of #${pr}: it is left alone`,
    };
  }
  const traffic = svc.spec.traffic ?? [];
  const entry = traffic.find((t) => t.tag === tag);
  if (!entry)
    return { kind: 'nothing', tag, reason: `Service "${name}" has no preview of #${pr} and no tag ${tag}` };
  if ((entry.percent ?? 0) > 0) {
    throw new PlanError(
      `tag ${tag} of Service "${name}" carries ${entry.percent}% of traffic, so it is not removed: move that ` +
        'traffic to another entry, then remove the entry',
    );
  }
  return {
    kind: 'untag',
    tag,
    entry,
    patch: {
      metadata: { resourceVersion: svc.metadata.resourceVersion },
      spec: { traffic: traffic.filter((t) => t !== entry) },
    },
  };
}

/** Where the route stands on the block without the tag, written at `generation`: served once the tag is gone. */
export function untagVerdict(svc: Service, generation: number, tag: string): RouteVerdict {
  if ((svc.status?.observedGeneration ?? 0) < generation) return { kind: 'pending', reason: 'NotObserved' };
  const routes = condition(svc, 'RoutesReady');
  if (routes?.status === 'False')
    return { kind: 'refused', reason: routes.reason ?? 'RoutesReady', message: routes.message ?? '' };
  const gone = !(svc.status?.traffic ?? []).some((t) => t.tag === tag);
  return gone && routes?.status === 'True'
    ? { kind: 'served' }
    : { kind: 'pending', reason: routes?.reason, message: routes?.message };
}
