// What must hold after each run: its exit code, its `status` output and the cluster agree; a cancelled run ends
// promoted, rolled back or where it found the rollout, and says which; a killed run is exempt (the next run must
// leave things consistent). And once a Service settles: its traffic is on revisions Knative routes. Pure.

import type { KObject } from '../emulator/util.ts';
import { percentsOf, stateOf, targets, type Finding } from './invariants.ts';

export interface SentSignal {
  signal: 'SIGINT' | 'SIGTERM' | 'SIGKILL';
  atMs: number;
  /** Part of the plan (a cancel's SIGINT, a kill), rather than the runner's escalation after a cancel. */
  planned: boolean;
}

export interface RunFacts {
  command: 'deploy' | 'advance' | 'rollback' | 'promote' | 'resume';
  mode: 'inline' | 'scheduled';
  /** A deploy's revision-name and image. */
  revision?: string;
  image?: string;
  code: number | null;
  signal: string | null;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
  sent: SentSignal[];
  /** The API was made to fail or crawl from the cancel on. */
  apiDegraded?: boolean;
  /** Started together with other runs on the same Service (scheduled advance runs, deploys of the same name). */
  racing?: boolean;
  /** Some write of the run's landed (a PATCH answered 2xx). */
  wrote?: boolean;
}

export const cancelled = (r: RunFacts): boolean => r.sent.some((s) => s.signal === 'SIGINT');
/** Ended by a SIGKILL, planned or not: no outputs to check. */
export const killed = (r: RunFacts): boolean => r.signal === 'SIGKILL';
/** The run said the rollback it needed could not be written: like a kill, the next run must finish it. */
export const unwritten = (r: RunFacts): boolean => /rollback could not be written/.test(r.stdout);

const traffic = (svc: KObject): string =>
  JSON.stringify(targets(svc).map((t) => [t.tag, t.revisionName, t.latestRevision, t.percent ?? 0]));
const annotation = (svc: KObject): string | undefined =>
  svc.metadata?.annotations?.['knative-canary-action/rollout'];
/** The rollout as a later run would find it: candidate, phase, step and percent (history aside). */
function position(svc: KObject): string {
  const s = stateOf(svc).state;
  return s ? `${s.candidate} ${s.startedAt} ${s.phase} ${s.step} ${s.percent}` : 'none';
}

/** Outputs that a run reporting a rollout's status must set too. */
function missingOutputs(r: RunFacts): string[] {
  if (!['promoted', 'rolled-back', 'progressing', 'paused'].includes(r.outputs.status ?? '')) return [];
  return ['revision', 'percent'].filter((o) => !r.outputs[o]);
}

/** The run found that another run had changed the rollout, and stopped without writing. */
const lostRace = (r: RunFacts): boolean => r.stdout.includes('another run changed this rollout meanwhile');

const finished = (svc: KObject) => {
  const phase = stateOf(svc).state?.phase;
  return phase === undefined || phase === 'promoted' || phase === 'rolled-back';
};

/** Whether the outputs and exit code agree with the Service as it is after the run. */
function agrees(
  r: RunFacts,
  before: KObject,
  after: KObject,
  imageOf: (rev: string) => string | undefined,
): Finding[] {
  const out: Finding[] = [];
  const status = r.outputs.status ?? '';
  const s = stateOf(after).state;
  const p = percentsOf(targets(after));
  const say = (kind: string, message: string) =>
    out.push({ kind, message: `status ${status || '(none)'}: ${message}` });
  const exit = (want: number) => {
    if (r.signal === null && r.code !== want) say('exit-code', `exit code ${r.code}, expected ${want}`);
  };
  /** The outputs that name the candidate and its percent: missing, or not what the state says. */
  const outputsOf = (percent: number) => {
    if (!s) return;
    if (missingOutputs(r).length) return; // reported once, by checkRun
    if (r.outputs.revision !== s.candidate || r.outputs.percent !== String(percent))
      say(
        'status-disagrees',
        `outputs revision ${r.outputs.revision} at ${r.outputs.percent}%, the state ${s.candidate} at ${percent}%`,
      );
  };
  const baselineShare = s ? s.baseline.reduce((sum, b) => sum + (p.get(b.revisionName) ?? 0), 0) : 0;
  const changed = annotation(after) !== annotation(before) || traffic(after) !== traffic(before);
  switch (status) {
    case 'promoted':
      if (!cancelled(r)) exit(0);
      if (s?.phase !== 'promoted') say('status-disagrees', `the state is ${s?.phase ?? 'missing'}`);
      else if (p.get(s.candidate) !== 100)
        say('status-disagrees', `${s.candidate} has ${p.get(s.candidate) ?? 0}% in spec`);
      outputsOf(100);
      break;
    case 'rolled-back':
      exit(r.command === 'rollback' ? 0 : 1);
      if (s && s.phase !== 'rolled-back') say('status-disagrees', `the state is ${s.phase}`);
      else if (s && baselineShare !== 100)
        say('status-disagrees', `the baseline has ${baselineShare}% in spec`);
      outputsOf(0);
      break;
    case 'progressing':
      // A cancelled run that left a scheduled rollout at its step exits 1: its turn did not finish.
      exit(cancelled(r) ? 1 : 0);
      if (s?.phase !== 'stepping') say('status-disagrees', `the state is ${s?.phase ?? 'missing'}`);
      else if ((p.get(s.candidate) ?? 0) !== s.percent)
        say('status-disagrees', `the state says ${s.percent}%, spec gives ${p.get(s.candidate) ?? 0}%`);
      else outputsOf(s.percent);
      if (cancelled(r) && r.mode === 'inline' && r.command === 'deploy')
        say('cancel-left-split', 'a cancelled inline run left its rollout stepping');
      break;
    case 'paused':
      exit(cancelled(r) ? 1 : 0);
      if (s?.phase !== 'stepping' || !s.paused)
        say('status-disagrees', `the state is ${s?.phase ?? 'missing'}, not paused`);
      else if ((p.get(s.candidate) ?? 0) !== s.percent)
        say('status-disagrees', `the state says ${s.percent}%, spec gives ${p.get(s.candidate) ?? 0}%`);
      else outputsOf(s.percent);
      break;
    case 'unchanged':
    case '':
      if (status === '' && r.code === 0) say('exit-code', 'no status, yet exit code 0');
      if (unwritten(r)) break;
      // Changes are another's unless this run's writes landed (one racing it, or a write of a killed run's that
      // was still in flight).
      if (r.wrote === false) break;
      if (changed && cancelled(r) && !finished(after))
        say(
          'cancel-left-active',
          `a cancelled run left ${position(after)} (was ${position(before)}; traffic ${traffic(before)} → ${traffic(after)})`,
        );
      else if (changed)
        say(
          cancelled(r) ? 'cancel-unreported-change' : 'status-disagrees',
          `the rollout changed from ${position(before)} to ${position(after)} (traffic ${traffic(before)} → ${traffic(after)})`,
        );
      break;
    case 'failed':
      // The run said it could not settle the rollout (a rollback the API would not take in time): the next run
      // must; like a kill, only its exit code is checked.
      exit(1);
      break;
    default:
      say('unexpected-status', `a ${r.command} run is not expected to end ${status}`);
  }
  // The revision given traffic by the rollout this run started is the image it deployed, not another revision
  // that had the same name.
  const started = s && s.startedAt !== stateOf(before).state?.startedAt;
  const claims = r.wrote !== false || status === 'promoted' || status === 'progressing';
  if (
    r.command === 'deploy' &&
    claims &&
    started &&
    s.candidate === r.revision &&
    (p.get(s.candidate) ?? 0) > 0
  ) {
    const image = imageOf(s.candidate);
    if (image !== r.image)
      say(
        'wrong-image',
        `${s.candidate} has ${p.get(s.candidate)}% but runs ${image}; the run deployed ${r.image}`,
      );
  }
  return out;
}

/**
 * The findings on one run. `afters` are the versions the run's outputs may describe: the Service after it, or
 * for a run racing others, every version seen while it ran (the last is the Service after them all).
 */
export function checkRun(
  r: RunFacts,
  before: KObject,
  afters: KObject[],
  imageOf: (rev: string) => string | undefined,
): Finding[] {
  const out: Finding[] = [];
  const kill = r.sent.find((s) => s.signal === 'SIGKILL');
  if (killed(r)) {
    const cancel = r.sent.find((s) => s.signal === 'SIGINT');
    if (kill && !kill.planned)
      out.push(
        cancel
          ? {
              kind: r.apiDegraded ? 'cancel-overran-slow-api' : 'cancel-overran',
              message: `still running ${(kill.atMs - cancel.atMs) / 1000} s after SIGINT: the runner killed it${r.wrote ? '' : ' (no write of its landed)'}`,
            }
          : { kind: 'run-hung', message: `still running after ${kill.atMs / 1000} s: killed` },
      );
    return out;
  }
  // Ended by the SIGINT or SIGTERM itself: before the action's handlers were installed (so before it wrote), or as
  // it exited after its work was done (its outputs are then checked as any run's, its exit code aside).
  if (r.signal && !r.outputs.status) {
    const after = afters.at(-1)!;
    const changed = annotation(after) !== annotation(before) || traffic(after) !== traffic(before);
    if (r.wrote ?? (changed && !r.racing))
      out.push({
        kind: 'died-on-signal',
        message: `ended by ${r.signal} without handling it or saying anything, after its writes landed: ${position(before)} → ${position(after)}`,
      });
    return out;
  }
  if (r.signal === null && r.code !== 0 && r.code !== 1)
    out.push({ kind: 'exit-code', message: `ended with code ${r.code}` });
  const crash = r.stderr
    .split('\n')
    .find((l) => /\b(TypeError|ReferenceError|RangeError|Unhandled|uncaught)\b/i.test(l));
  if (crash) out.push({ kind: 'crash', message: `stderr: ${crash.trim()}` });
  const missing = missingOutputs(r);
  if (missing.length)
    out.push({
      kind: 'outputs-incomplete',
      message: `status ${r.outputs.status}: no ${missing.join(' or ')} output`,
    });
  // A run that lost its write to one that rolled the rollout back or replaced it fails, and says so in its log only.
  if (!r.outputs.status && lostRace(r))
    out.push({
      kind: 'outputs-incomplete',
      message: `status (none): no status output, though the run found the rollout ${position(afters.at(-1)!)}`,
    });
  let best: Finding[] | undefined;
  for (const after of afters) {
    const f = agrees(r, before, after, imageOf);
    if (f.length === 0) return out;
    best = f;
  }
  return [...out, ...(best ?? [])];
}

export interface RevisionInfo {
  ready?: string;
  /** When Ready last changed, ms since the epoch. */
  readySince?: number;
}

/**
 * A settled Service: every revision with traffic is Ready (or stopped being Ready only after the last change of
 * spec, which no run could have answered), and the route serves what the spec asks for.
 */
export function checkSettled(
  svc: KObject,
  revisions: (name: string) => RevisionInfo | undefined,
  lastSpecChangeAt: number,
): Finding[] {
  const out: Finding[] = [];
  const spec = percentsOf(targets(svc));
  let excused = false;
  for (const [rev, percent] of spec) {
    if (percent === 0) continue;
    const info = revisions(rev);
    if (info?.ready === 'True') continue;
    // Conditions carry whole seconds.
    if (info?.readySince !== undefined && info.readySince >= Math.floor(lastSpecChangeAt / 1000) * 1000) {
      excused = true;
      continue;
    }
    out.push({
      kind: 'routed-not-ready',
      message: `${rev} has ${percent}% but is not Ready (${info ? `Ready ${info.ready ?? 'unset'}` : 'no such revision'})`,
    });
  }
  const routes = (svc.status?.conditions ?? []).find((c: KObject) => c.type === 'RoutesReady');
  const pinnedOnly = !targets(svc).some((t) => t.latestRevision && (t.percent ?? 0) > 0);
  if (routes?.status === 'True' && pinnedOnly) {
    const served = percentsOf(svc.status?.traffic ?? []);
    for (const rev of new Set([...spec.keys(), ...served.keys()])) {
      if ((spec.get(rev) ?? 0) !== (served.get(rev) ?? 0))
        out.push({
          kind: 'served-differs',
          message: `RoutesReady, yet ${rev} is served ${served.get(rev) ?? 0}% and asked ${spec.get(rev) ?? 0}%`,
        });
    }
  } else if (routes?.status !== 'True' && !excused && out.length === 0) {
    out.push({
      kind: 'route-not-ready',
      message: `RoutesReady is ${routes?.status ?? 'unset'} (${routes?.reason ?? ''}: ${routes?.message ?? ''})`,
    });
  }
  return out;
}
