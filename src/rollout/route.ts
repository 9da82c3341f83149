// What Knative says of a traffic block once it has observed it, without I/O. A write is only done when users are
// served it: status.traffic at the observed generation carries the split and RoutesReady is True (route.go writes
// status.traffic before the ingress is programmed, and IngressReady, so RoutesReady, stays Unknown until the gateway
// serves it). A block Knative refuses (a target that is missing, failed or not owned, a host that is too long, a
// revision name taken) shows as RoutesReady False, and the previous split stays in force.

import { condition, resolvedPercents, type Service } from '../knative/types.ts';
import { samePercents } from './traffic.ts';

export type RouteVerdict =
  /** Users are served the split asked for. */
  | { kind: 'served' }
  /** Not yet: the generation is not observed, or the route is still being programmed. */
  | { kind: 'pending'; reason?: string; message?: string }
  /** Knative refused the block whole; status.traffic still holds the split before it. */
  | { kind: 'refused'; reason: string; message: string };

/** Where the route stands on the block written at `generation`, which asked for `wanted` percents. */
export function routeVerdict(svc: Service, generation: number, wanted: Map<string, number>): RouteVerdict {
  if ((svc.status?.observedGeneration ?? 0) < generation) return { kind: 'pending', reason: 'NotObserved' };
  const routes = condition(svc, 'RoutesReady');
  if (routes?.status === 'False')
    return { kind: 'refused', reason: routes.reason ?? 'RoutesReady', message: routes.message ?? '' };
  if (routes?.status === 'True' && samePercents(resolvedPercents(svc), wanted)) return { kind: 'served' };
  return { kind: 'pending', reason: routes?.reason, message: routes?.message };
}

/** The revision or configuration a Knative traffic message names in quotes (`Revision "x" failed ...`). */
export function namedInMessage(message: string | undefined): string | undefined {
  return /"([^"]+)"/.exec(message ?? '')?.[1];
}

/**
 * While a candidate becomes Ready, a refusal that only waits on it is expected: its tag follows the latest ready
 * revision, which may be a revision that failed since (a block refused until the candidate takes its place).
 * Anything else (a host too long, a pinned revision missing, a name taken) will not pass by waiting.
 */
export function refusalOutlastsReady(
  verdict: Extract<RouteVerdict, { kind: 'refused' }>,
  svc: Service,
  candidate: string,
): boolean {
  if (verdict.reason !== 'RevisionMissing') return true;
  const named = namedInMessage(verdict.message);
  return !(
    named === candidate ||
    named === svc.status?.latestReadyRevisionName ||
    named === svc.metadata.name ||
    named === svc.status?.latestCreatedRevisionName
  );
}
