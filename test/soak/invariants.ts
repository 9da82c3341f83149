// What must hold of every version of a Service the soak's watcher sees, whatever the action is doing: a valid
// traffic block, the stable revision never below 100 minus the step, no traffic on a candidate before its smoke
// test passed, the users' entries and annotations kept, and a state annotation that decodes. Pure: fed versions,
// returns findings, so that the checker itself is tested (invariants.test.ts).

import { decodeState, HISTORY_LIMIT, STATE_ANNOTATION, type RolloutState } from '../../src/rollout/state.ts';
import type { KObject } from '../emulator/util.ts';
import type { UserEntry } from './plan.ts';

export interface Finding {
  /** A short name of the invariant broken, e.g. `stable-below-step`. */
  kind: string;
  message: string;
}

export interface Target {
  tag?: string;
  revisionName?: string;
  latestRevision?: boolean;
  percent?: number;
}

/** What the user of a Service set up and expects to keep. */
export interface Expectations {
  userEntries: UserEntry[];
  annotations: Record<string, string>;
  labels: Record<string, string>;
  templateAnnotations: Record<string, string>;
  /** The tag of each preview deployed on the Service (`pr-<number>`) and its revision. */
  previews?: Map<string, string>;
}

export interface VersionContext {
  expect: Expectations;
  /** Whether a revision of this name existed at this resourceVersion (created at or before it). */
  revisionExisted(name: string, rv: number): boolean;
}

export const targets = (svc: KObject | undefined): Target[] =>
  Array.isArray(svc?.spec?.traffic) ? (svc.spec.traffic as Target[]) : [];

/** Percent per revision pinned by name in `spec.traffic` (or `status.traffic`, which names every revision). */
export function percentsOf(list: Target[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of list) {
    if (t.revisionName) out.set(t.revisionName, (out.get(t.revisionName) ?? 0) + (t.percent ?? 0));
  }
  return out;
}

export function stateOf(svc: KObject | undefined): { state?: RolloutState; problem?: string } {
  return decodeState(svc?.metadata?.annotations?.[STATE_ANNOTATION]);
}

/** Whether the rollout's current candidate passed its smoke test: a smoke pass after its deploy decision. */
export function smokePassed(state: RolloutState): boolean | 'unknown' {
  const h = state.history;
  const deployed = h.findLastIndex((d) => d.action === 'deploy');
  if (deployed < 0) return h.length >= HISTORY_LIMIT ? 'unknown' : false;
  return h.slice(deployed).some((d) => d.action === 'smoke' && d.verdict === 'pass');
}

function checkTraffic(list: Target[], rv: number, ctx: VersionContext): Finding[] {
  const out: Finding[] = [];
  if (list.length === 0) return out;
  const sum = list.reduce((s, t) => s + (t.percent ?? 0), 0);
  if (sum !== 100)
    out.push({ kind: 'traffic-sum', message: `spec.traffic percents add up to ${sum}, not 100` });
  const tags = list.map((t) => t.tag).filter((t): t is string => !!t);
  for (const tag of new Set(tags.filter((t, i) => tags.indexOf(t) !== i)))
    out.push({ kind: 'duplicate-tag', message: `tag "${tag}" is on more than one entry of spec.traffic` });
  for (const t of list) {
    if (t.revisionName && !ctx.revisionExisted(t.revisionName, rv))
      out.push({
        kind: 'missing-revision',
        message: `spec.traffic names revision ${t.revisionName}, which does not exist`,
      });
    if ((t.percent ?? 0) < 0 || (t.percent ?? 0) > 100)
      out.push({ kind: 'traffic-range', message: `an entry of spec.traffic has ${t.percent}%` });
  }
  return out;
}

/** Traffic against the rollout's state: written in the same patch, so they agree in every version. */
function checkAgainstState(list: Target[], s: RolloutState): Finding[] {
  const out: Finding[] = [];
  const p = percentsOf(list);
  const cand = p.get(s.candidate) ?? 0;
  const baseline = new Set(s.baseline.map((b) => b.revisionName));
  const onBaseline = [...baseline].reduce((sum, r) => sum + (p.get(r) ?? 0), 0);
  const where = `(state: ${s.phase} of ${s.candidate} at ${s.percent}%, step ${s.step})`;
  if (list.some((t) => t.latestRevision && (t.percent ?? 0) > 0))
    out.push({
      kind: 'latest-with-traffic',
      message: `an entry following the latest revision carries traffic during a rollout ${where}`,
    });
  for (const [rev, percent] of p) {
    if (percent > 0 && rev !== s.candidate && !baseline.has(rev))
      out.push({
        kind: 'stray-traffic',
        message: `${rev} has ${percent}%, and is neither the candidate nor the baseline ${where}`,
      });
  }
  const wantCandidate = s.phase === 'promoted' ? 100 : s.phase === 'stepping' ? s.percent : 0;
  if (s.phase !== 'promoted' && onBaseline < 100 - wantCandidate) {
    out.push({
      kind: 'stable-below-step',
      message: `the baseline (${[...baseline].join(', ')}) has ${onBaseline}%, below 100 - ${wantCandidate}% ${where}`,
    });
  } else if (cand !== wantCandidate) {
    out.push({
      kind: 'traffic-disagrees-with-state',
      message: `the candidate has ${cand}% in spec.traffic, the state says ${wantCandidate}% ${where}`,
    });
  }
  if (cand > 0 && smokePassed(s) === false)
    out.push({
      kind: 'traffic-before-smoke',
      message: `${s.candidate} has ${cand}% before its smoke test passed ${where}`,
    });
  return out;
}

function checkUserKept(
  svc: KObject,
  list: Target[],
  s: RolloutState | undefined,
  e: Expectations,
): Finding[] {
  const out: Finding[] = [];
  const baseline = new Set(s?.baseline.map((b) => b.revisionName) ?? []);
  for (const want of e.userEntries) {
    const found = list.filter((t) => t.tag === want.tag);
    if (found.length === 0) {
      out.push({ kind: 'user-entry-lost', message: `the user's entry under tag "${want.tag}" is gone` });
      continue;
    }
    const t = found[0]!;
    const kept = want.revisionName
      ? t.revisionName === want.revisionName && !t.latestRevision
      : t.latestRevision === true || (t.revisionName !== undefined && baseline.has(t.revisionName));
    if ((t.percent ?? 0) !== 0 || !kept)
      out.push({
        kind: 'user-entry-changed',
        message: `the user's entry under tag "${want.tag}" is now ${JSON.stringify(t)}, was ${JSON.stringify(want)}`,
      });
  }
  const kv = (what: string, have: Record<string, string> | undefined, want: Record<string, string>) => {
    for (const [k, v] of Object.entries(want)) {
      if (have?.[k] !== v)
        out.push({
          kind: 'user-metadata-lost',
          message: `${what} ${k} is ${JSON.stringify(have?.[k])}, was ${JSON.stringify(v)}`,
        });
    }
  };
  kv('annotation', svc.metadata?.annotations, e.annotations);
  kv('label', svc.metadata?.labels, e.labels);
  kv('template annotation', svc.spec?.template?.metadata?.annotations, e.templateAnnotations);
  return out;
}

/**
 * A preview's tag serves the preview: it names its revision, or it is gone. It follows the latest revision only while
 * that preview is being deployed (as the candidate's tag does, until the candidate is Ready); after that, following
 * the latest revision would serve the next deploy's candidate, or any later one, under the pull request's URL.
 */
function checkPreviewTags(list: Target[], s: RolloutState | undefined, e: Expectations): Finding[] {
  const out: Finding[] = [];
  for (const t of list) {
    const revision = t.tag ? e.previews?.get(t.tag) : undefined;
    if (!revision) continue;
    const deploying =
      s !== undefined && s.tag === t.tag && s.candidate === revision && s.phase === 'deploying';
    if (t.revisionName === revision || (t.latestRevision && deploying)) continue;
    out.push({
      kind: 'preview-tag-moved',
      message: `tag "${t.tag}" of the preview ${revision} now ${t.latestRevision ? 'follows the latest revision' : `names ${t.revisionName}`}`,
    });
  }
  return out;
}

/** The findings on one version of a Service; `previous` is the version before it, when there was one. */
export function checkVersion(svc: KObject, ctx: VersionContext, previous?: KObject): Finding[] {
  const rv = Number(svc.metadata?.resourceVersion ?? 0);
  const list = targets(svc);
  const out = checkTraffic(list, rv, ctx);
  const { state, problem } = stateOf(svc);
  if (problem) out.push({ kind: 'state-undecodable', message: problem });
  if (!state && !problem && stateOf(previous).state)
    out.push({ kind: 'state-lost', message: `the annotation ${STATE_ANNOTATION} is gone` });
  if (state) out.push(...checkAgainstState(list, state));
  out.push(...checkUserKept(svc, list, state, ctx.expect));
  out.push(...checkPreviewTags(list, state, ctx.expect));
  return out;
}

const compact = (list: Target[]): string =>
  list
    .map(
      (t) =>
        `${t.tag ? `${t.tag}:` : ''}${t.revisionName ?? (t.latestRevision ? '@latest' : '?')}=${t.percent ?? 0}`,
    )
    .join(' ');

/** One line per version, for the timelines of a report. */
export function summarize(svc: KObject): string {
  const { state, problem } = stateOf(svc);
  const ready = (svc.status?.conditions ?? []).find((c: KObject) => c.type === 'Ready')?.status ?? '-';
  const st = state
    ? `${state.phase} ${state.candidate} ${state.percent}% step ${state.step}${state.paused ? ' paused' : ''} (${state.history.at(-1)?.action ?? ''})`
    : problem
      ? 'undecodable'
      : 'none';
  return (
    `rv=${svc.metadata?.resourceVersion} gen=${svc.metadata?.generation}/${svc.status?.observedGeneration ?? '-'} ` +
    `spec[${compact(targets(svc))}] state{${st}} status[${compact(svc.status?.traffic ?? [])}] ready=${ready}`
  );
}
