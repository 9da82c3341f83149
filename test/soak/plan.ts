// What the soak does, decided before anything runs: the Services (their users' traffic entries and annotations)
// and each rollout (its candidate, progression, steps, API faults, cancels and kills, scheduled advance runs).
// A pure function of the seed and the index: the same seed plans the same soak on any machine.

import { chance, int, pick, rngFor, weighted, type Rng } from './random.ts';

export type CandidateKind =
  | 'healthy'
  | 'erroring'
  | 'slow'
  | 'smoke-fail'
  | 'never-ready'
  | 'stuck'
  | 'crash-requests'
  | 'crash-time'
  | 'name-taken'
  | 'name-race'
  | 'preview';

export const CANDIDATE_KINDS: readonly (readonly [CandidateKind, number])[] = [
  ['healthy', 30],
  ['erroring', 12],
  ['slow', 9],
  ['smoke-fail', 7],
  ['never-ready', 5],
  ['stuck', 4],
  ['crash-requests', 8],
  ['crash-time', 8],
  ['name-taken', 5],
  ['name-race', 4],
  ['preview', 5],
];

export type FaultProfile = 'none' | 'errors' | 'conflicts' | 'cuts' | 'delays' | 'mixed';

/** A traffic entry of the user's: at 0% under its own tag, by revision name or following the latest revision. */
export interface UserEntry {
  tag: string;
  revisionName?: string;
  latestRevision?: boolean;
  percent: 0;
}

export interface ServicePlan {
  name: string;
  /** The revision the Service is created with. */
  initialRevision: string;
  userEntries: UserEntry[];
  /** Set by the user on the Service and its template; every version must keep them. */
  annotations: Record<string, string>;
  labels: Record<string, string>;
  templateAnnotations: Record<string, string>;
}

/**
 * Where in a run an interrupt strikes: a time after it started, when its log starts a phase (the deploy write, the
 * wait for Ready, the smoke test, a step's dwell or an advance's check, a step write, the promotion, a rollback), or
 * when the watcher sees its step or promotion write land (the run then waits for the route to confirm it).
 */
export type Moment =
  | 'time'
  | 'deploy'
  | 'ready-wait'
  | 'smoke'
  | 'dwell'
  | 'check'
  | 'step'
  | 'promote'
  | 'rollback'
  | 'step-written'
  | 'promotion-written';

/**
 * How a run is interrupted, `delayMs` after its moment. `cancel` is the runner's cancellation: SIGINT, SIGTERM
 * 7.5 s later, SIGKILL 2.5 s after that; `during` makes the API fail or crawl from the SIGINT on. `kill` is a lost
 * runner machine: SIGKILL alone.
 */
export interface Interrupt {
  kind: 'cancel' | 'kill';
  on: Moment;
  delayMs: number;
  during?: 'reads-fail' | 'slow-api';
}

/**
 * Scheduled runs started together, with the Service's clock set from the current step's start: `due` once its dwell
 * (10 minutes) is over, `early` half-way through it.
 */
export interface AdvanceGroup {
  when: 'early' | 'due';
  /** When each racer starts, in ms after the first. */
  offsetsMs: number[];
}

export interface RolloutPlan {
  index: number;
  service: string;
  kind: CandidateKind;
  image: string;
  revisionName: string;
  /** The container's env (every knob of the built-in app, so none is inherited from an earlier template). */
  env: Record<string, string>;
  mode: 'inline' | 'scheduled';
  steps: string;
  /** A smoke-tests list (on /smoke) instead of smoke-path. */
  smokeTests: boolean;
  faults: FaultProfile;
  interrupt?: Interrupt;
  /** The run interrupted: the deploy, or an advance run (by group and racer). */
  interrupted: 'deploy' | { group: number; racer: number };
  advances: AdvanceGroup[];
  /**
   * With `preview`: `/canary deploy` on pull request `pr` whose head is `sha` (the revision is `<service>-<sha7>`,
   * at 0% under tag `pr-<pr>`, paused), then `/canary promote`, `/canary resume` or nothing (the next deploy
   * replaces it).
   */
  preview?: { pr: number; sha: string; then: 'promote' | 'resume' | 'leave' };
  /** With `name-race`: a second deploy of the same revision-name with another image starts this much later. */
  raceOffsetMs: number;
  /** After a killed inline run: leave it to the next deploy, roll it back, or promote it (when it is stepping). */
  afterKill: 'next' | 'rollback' | 'promote';
}

export interface SoakPlan {
  seed: number;
  services: ServicePlan[];
  rollouts: RolloutPlan[];
}

const IMAGE = 'ghcr.io/example/app';

export function planService(seed: number, k: number): ServicePlan {
  const r = rngFor(seed, 'service', k);
  const name = `app${k}`;
  const initialRevision = `${name}-v0`;
  const userEntries: UserEntry[] = [];
  if (chance(r, 0.6)) userEntries.push({ tag: 'debug', revisionName: initialRevision, percent: 0 });
  if (chance(r, 0.4)) userEntries.push({ tag: 'edge', latestRevision: true, percent: 0 });
  const annotated = chance(r, 0.7);
  return {
    name,
    initialRevision,
    userEntries,
    annotations: annotated ? { 'example.com/owner': `team-${k}` } : {},
    labels: annotated ? { 'example.com/tier': 'web' } : {},
    templateAnnotations: chance(r, 0.5) ? { 'example.com/note': 'kept' } : {},
  };
}

/** Every knob of the built-in app at its neutral value; a candidate kind sets some. */
const NEUTRAL: Record<string, string> = {
  EMULATOR_ERROR_RATE: '0',
  EMULATOR_ERROR_PATH: '',
  EMULATOR_LATENCY_MS: '0',
  EMULATOR_NEVER_READY: 'false',
  EMULATOR_CRASH_AFTER_REQUESTS: '0',
  EMULATOR_CRASH_AFTER_MS: '0',
};

function knobs(r: Rng, kind: CandidateKind): Record<string, string> {
  switch (kind) {
    case 'erroring':
      return { EMULATOR_ERROR_RATE: pick(r, ['0.2', '0.5']), EMULATOR_ERROR_STATUS: pick(r, ['500', '503']) };
    case 'slow':
      return { EMULATOR_LATENCY_MS: String(int(r, 350, 600)) };
    case 'smoke-fail':
      return { EMULATOR_ERROR_RATE: '1', EMULATOR_ERROR_PATH: '/smoke' };
    case 'never-ready':
      return { EMULATOR_NEVER_READY: 'true' };
    // Crashes well inside the rollout (every step holds 1 s): a crash after promotion is no fault of the action.
    case 'crash-requests':
      return { EMULATOR_CRASH_AFTER_REQUESTS: String(int(r, 3, 15)) };
    case 'crash-time':
      return { EMULATOR_CRASH_AFTER_MS: String(int(r, 150, 800)) };
    default:
      return {};
  }
}

const DEPLOY_MOMENTS: readonly (readonly [Moment, number])[] = [
  ['time', 3],
  ['deploy', 1],
  ['ready-wait', 1],
  ['smoke', 1],
  ['dwell', 2],
  ['step', 1],
  ['step-written', 2],
  ['promote', 2],
  ['promotion-written', 2],
  ['rollback', 1],
];
const ADVANCE_MOMENTS: readonly (readonly [Moment, number])[] = [
  ['time', 2],
  ['check', 2],
  ['step', 1],
  ['step-written', 2],
  ['promote', 1],
  ['promotion-written', 2],
  ['rollback', 1],
];

function planInterrupt(r: Rng, advance: boolean, runMs: number): Interrupt | undefined {
  const kind = weighted(r, [
    [undefined, 45],
    ['cancel', 37],
    ['kill', 18],
  ] as const);
  const on = weighted(r, advance ? ADVANCE_MOMENTS : DEPLOY_MOMENTS);
  const delayMs =
    on === 'time' ? int(r, 300, runMs) : int(r, 0, on === 'dwell' || on === 'check' ? 800 : 150);
  const during = weighted(r, [
    [undefined, 2],
    ['reads-fail', 1],
    ['slow-api', 1],
  ] as const);
  if (!kind) return undefined;
  return kind === 'cancel' && during ? { kind, on, delayMs, during } : { kind, on, delayMs };
}

function planAdvances(r: Rng, stepsBefore100: number): AdvanceGroup[] {
  const groups: AdvanceGroup[] = [];
  const racers = () => {
    const n = weighted(r, [
      [1, 6],
      [2, 3],
      [3, 1],
    ] as const);
    return [0, ...Array.from({ length: n - 1 }, () => int(r, 0, 1500))];
  };
  if (chance(r, 0.3)) groups.push({ when: 'early', offsetsMs: racers() });
  for (let k = 1; k <= stepsBefore100; k++) groups.push({ when: 'due', offsetsMs: racers() });
  if (chance(r, 0.3)) groups.push({ when: 'due', offsetsMs: racers() });
  return groups;
}

export function planRollout(
  seed: number,
  index: number,
  services: ServicePlan[],
  kinds?: readonly CandidateKind[],
): RolloutPlan {
  const r = rngFor(seed, 'rollout', index);
  const service = services[index % services.length]!;
  const kind = weighted(r, kinds ? CANDIDATE_KINDS.filter(([k]) => kinds.includes(k)) : CANDIDATE_KINDS);
  const mode = chance(r, 0.3) ? 'scheduled' : 'inline';
  const sha = Array.from({ length: 40 }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');
  const preview =
    kind === 'preview'
      ? { pr: 100 + index, sha, then: pick(r, ['promote', 'resume', 'leave'] as const) }
      : undefined;
  // The revision of this Service's previous rollout (or its first): its name is taken by another image.
  const previous = index - services.length;
  const revisionName =
    kind === 'name-taken'
      ? previous >= 0
        ? planRollout(seed, previous, services, kinds).revisionName
        : service.initialRevision
      : preview
        ? `${service.name}-${sha.slice(0, 7)}`
        : `${service.name}-r${index}`;
  const steps = pick(r, ['20,50', '30', '10,40,70', '25,50']);
  const stepsBefore100 = steps.split(',').length;
  const advances = mode === 'scheduled' ? planAdvances(r, stepsBefore100) : [];
  const onAdvance = mode === 'scheduled' && advances.length > 0 && chance(r, 0.6);
  const group = onAdvance ? int(r, 0, advances.length - 1) : 0;
  const runMs = onAdvance
    ? 1500
    : kind === 'never-ready' || kind === 'stuck'
      ? 5000
      : 1500 + 1200 * stepsBefore100;
  const interrupt = planInterrupt(r, onAdvance, runMs);
  return {
    index,
    service: service.name,
    kind,
    image: preview ? `${IMAGE}:${sha}` : `${IMAGE}:r${index}`,
    revisionName,
    env: { ...NEUTRAL, ...knobs(r, kind) },
    mode,
    steps,
    smokeTests: kind === 'smoke-fail' || chance(r, 0.3),
    faults: weighted(r, [
      ['none', 40],
      ['errors', 15],
      ['conflicts', 15],
      ['cuts', 10],
      ['delays', 10],
      ['mixed', 10],
    ] as const),
    interrupt,
    interrupted: onAdvance ? { group, racer: 0 } : 'deploy',
    advances,
    preview,
    raceOffsetMs: int(r, 0, 400),
    afterKill: weighted(r, [
      ['next', 4],
      ['rollback', 3],
      ['promote', 3],
    ] as const),
  };
}

/** The soak's plan; `kinds` limits the candidates to those kinds (a soak aimed at one weak spot). */
export function planSoak(
  seed: number,
  rollouts: number,
  concurrency: number,
  kinds?: readonly CandidateKind[],
): SoakPlan {
  const services = Array.from({ length: concurrency }, (_, k) => planService(seed, k));
  return {
    seed,
    services,
    rollouts: Array.from({ length: rollouts }, (_, i) => planRollout(seed, i, services, kinds)),
  };
}
