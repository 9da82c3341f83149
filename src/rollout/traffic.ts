// Pure construction of `spec.traffic`. The action owns the entries under its two tags and the untagged entries
// that carry traffic; every other entry the user wrote is kept as it is, with its percent moved to the baseline.

import { percentsByRevision, type TrafficTarget } from '../knative/types.ts';
import type { BaselineTarget } from './state.ts';

export interface TrafficPlan {
  tag: string;
  stableTag: string;
  baseline: BaselineTarget[];
  candidate?: string;
  /** Candidate percent; 0 means the candidate tag follows the latest revision. */
  percent: number;
  /** After promotion: the candidate is the new stable and carries the stable tag. */
  promoted?: boolean;
  /** The candidate is Ready: its tag names it even at 0% (a preview), rather than following the latest revision. */
  pinned?: boolean;
  /**
   * Rolled back: the candidate is named nowhere, not even by its tag. Knative refuses a whole block that resolves
   * any target to a revision that is not Ready (traffic.go), and a failing candidate may be Ready one moment and
   * crashed the next.
   */
  dropped?: boolean;
  /**
   * The safest block, for a rollback Knative refused: the baseline alone, without the stable tag (whose host may be
   * what was refused), and user entries that would not resolve to a Ready revision (`routable` says which) pinned
   * to the first baseline revision for now, their tags kept.
   */
  routable?: (t: TrafficTarget) => boolean;
  /**
   * Rolled back before the candidate was ever created (its name was taken): the entry under the candidate's tag
   * as the deploy found it, put back as it was (it cannot resolve to the candidate).
   */
  tagAsFound?: TrafficTarget;
  /**
   * Tags of rollouts that ended, whose entries go from the block: a preview's `pr-<number>` once the preview is
   * promoted (left following the latest revision, its URL would serve later, unrelated candidates) or replaced by
   * a new rollout. Only ever a tag of the action's own rollouts; the plan's own tags stay while they are in use.
   */
  retired?: readonly string[];
}

/** Splits `total` among `weights` in proportion, in whole percents that add up exactly (largest remainder). */
export function apportion(weights: number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const exact = weights.map((w) => (w * total) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => [e - Math.floor(e), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i]! += 1;
    left -= 1;
  }
  return out;
}

/** Entries the action manages: its tags, and untagged entries that carry traffic or pin a known revision. */
export function isManaged(
  t: TrafficTarget,
  tag: string,
  stableTag: string,
  known: ReadonlySet<string>,
): boolean {
  if (t.tag) return t.tag === tag || (stableTag !== '' && t.tag === stableTag);
  return (t.percent ?? 0) > 0 || (t.revisionName !== undefined && known.has(t.revisionName));
}

/** The user's own entries from the current `spec.traffic`, percent set to 0. */
export function userEntries(
  current: TrafficTarget[],
  plan: Pick<TrafficPlan, 'tag' | 'stableTag' | 'baseline' | 'candidate' | 'routable' | 'retired'>,
): TrafficTarget[] {
  const known = new Set(plan.baseline.map((b) => b.revisionName));
  if (plan.candidate) known.add(plan.candidate);
  const stable = plan.baseline[0]?.revisionName;
  const retired = new Set(plan.retired);
  return current
    .filter((t) => !isManaged(t, plan.tag, plan.stableTag, known))
    .filter((t) => t.tag === undefined || !retired.has(t.tag))
    .map((t) => {
      const { url: _url, ...rest } = t;
      if (stable && plan.routable && !plan.routable(t)) {
        const { tag } = rest;
        return tag
          ? { tag, revisionName: stable, latestRevision: false, percent: 0 }
          : { revisionName: stable, latestRevision: false, percent: 0 };
      }
      return { ...rest, percent: 0 };
    });
}

export function buildTraffic(current: TrafficTarget[], plan: TrafficPlan): TrafficTarget[] {
  const out: TrafficTarget[] = [];
  const pin = (revisionName: string, percent: number, tag?: string): TrafficTarget =>
    tag
      ? { tag, revisionName, latestRevision: false, percent }
      : { revisionName, latestRevision: false, percent };
  if (plan.promoted && plan.candidate) {
    out.push(pin(plan.candidate, 100, plan.stableTag || undefined));
    // The candidate's tag follows the latest revision from now on, unless it ends with the rollout (a preview's).
    if (!plan.retired?.includes(plan.tag)) out.push({ tag: plan.tag, latestRevision: true, percent: 0 });
  } else {
    const shares = apportion(
      plan.baseline.map((b) => b.percent),
      100 - plan.percent,
    );
    plan.baseline.forEach((b, i) => {
      // A baseline revision whose share rounds to 0 keeps its entry only when it carries the stable tag.
      if (shares[i] === 0 && i > 0) return;
      // The safest block carries no tag of the action's: a tag's host may be what Knative refused (ErrorConfig).
      const tagged = i === 0 && plan.stableTag && !plan.routable;
      out.push(pin(b.revisionName, shares[i]!, tagged ? plan.stableTag : undefined));
    });
    if (plan.dropped) {
      // Nothing under the candidate's tag (see TrafficPlan.dropped), unless it is put back as it was found.
      if (plan.tagAsFound) {
        const { url: _url, ...entry } = plan.tagAsFound;
        out.push({ ...entry, percent: 0 });
      }
    } else if (plan.candidate && (plan.percent > 0 || plan.pinned))
      out.push(pin(plan.candidate, plan.percent, plan.tag));
    else out.push({ tag: plan.tag, latestRevision: true, percent: 0 });
  }
  return [...out, ...userEntries(current, plan)];
}

/** Percent per revision that a `spec.traffic` asks for, with `latestRevision` entries resolved to `latest`. */
export function wantedPercents(traffic: TrafficTarget[], latest: string | undefined): Map<string, number> {
  return percentsByRevision(traffic, (t) => (t.latestRevision ? latest : t.revisionName));
}

export function samePercents(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export function describePercents(m: Map<string, number>): string {
  return [...m].map(([rev, p]) => `${rev} ${p}%`).join(', ') || 'nothing';
}
