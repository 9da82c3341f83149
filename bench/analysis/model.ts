// The simulated rollout: request streams for the candidate and the stable revision, one look a second, judged by
// the action's Judge and by two references on the same looks. See bench/README.md, "Analysis".

import { Judge, type ArmLook, type Look, type TestName } from '../../src/health/judge.ts';
import { normalUpper, PoissonTable, Rng, runSeed, Z99 } from './random.ts';

export const LOOKS = 3600;
export const ALPHA = 0.01;
export const WARMUP_LOOKS = 30;
const MEDIAN_MS = 50;
const SIGMA = 0.5;
/** The stable revision's true p99 (about 160.1 ms), the judge's p99 threshold. */
export const P99_MS = MEDIAN_MS * Math.exp(SIGMA * Z99);
/** Flagger-style latency check: p99 over the interval at most this. */
export const FLAGGER_P99_MS = 500;
const THRESHOLDS = [MEDIAN_MS, P99_MS, FLAGGER_P99_MS];

export const JUDGE_CONFIG = { alpha: ALPHA, maxErrorRate: 1, warmupMs: WARMUP_LOOKS * 1000 };
/** DEFAULT_WEIGHTS in judge.ts: the judge is built without weights. */
const WEIGHTS = { errors: 0.6, p50: 0.2, p99: 0.2 };

const FLAGGER_INTERVAL = 60;
const FLAGGER_THRESHOLD = 5;
const Z_EVERY = 30;
const Z_CRIT = Z99;

export type Variant = 'plain' | 'shocks' | 'cold';

/** A latency distribution: lognormal (median 50 ms, σ 0.5) times `factor`, plus `tailAddMs` for a `tailShare`. */
export interface Latency {
  factor: number;
  tailShare?: number;
  tailAddMs?: number;
}

export interface Cell {
  /** Unique; it also seeds the cell's runs. */
  key: string;
  kind: 'healthy' | 'regression';
  variant: Variant;
  /** Regression scenarios: a short name. */
  scenario?: string;
  lambda: number;
  weight: number;
  /** The stable revision's error rate, and the candidate's. */
  baseError: number;
  candError: number;
  candLatency: Latency;
  /** What counts as a bad request: an excess error, or an excess request over the stable revision's p99. */
  harm: 'errors' | 'latency';
}

export const METHODS = ['judge', 'flagger', 'ztest'] as const;
export type Method = (typeof METHODS)[number];

/** One run's outcome per method: the look that rolled back (0: not within the hour) and the harm until then. */
export interface RunOutcome {
  at: Record<Method, number>;
  bad: Record<Method, number>;
  /** The first look with a candidate request. */
  firstRequest: number;
  judgeTest?: TestName;
}

/** P(latency > thresholdMs). */
export function exceedance(l: Latency, thresholdMs: number): number {
  const over = (t: number, f: number) => (t <= 0 ? 1 : normalUpper(Math.log(t / f / MEDIAN_MS) / SIGMA));
  const share = l.tailShare ?? 0;
  const body = over(thresholdMs, l.factor);
  return share ? (1 - share) * body + share * over(thresholdMs - (l.tailAddMs ?? 0), l.factor) : body;
}

/** Draws Binomial(n, p) by inversion, given (1 − p)^n for n < table.length and the odds p / (1 − p). */
function binomial(u: number, n: number, p: number, q0: Float64Array, odds: number): number {
  let pk = n < q0.length ? q0[n]! : (1 - p) ** n;
  let cdf = pk;
  let k = 0;
  while (u >= cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * odds;
    k++;
    cdf += pk;
  }
  return k;
}

const POWERS = 4096;
const powers = (p: number) => Float64Array.from({ length: POWERS }, (_, n) => (1 - p) ** n);

/**
 * One arm in one phase. Poisson arrivals thinned by independent marks give independent Poisson counts, so the
 * requests ≤ p50, in (p50, p99] and > p99 are three independent Poisson draws, exactly. Those > p99 are split
 * binomially at 500 ms, and the errors are binomial in the requests (errors are independent of latency), both
 * drawn by inversion.
 */
export class ArmPhase {
  private readonly low: PoissonTable;
  private readonly mid: PoissonTable;
  private readonly high: PoissonTable;
  /** P(> 500 ms | > p99), for the split. */
  private readonly slow: number;
  private readonly slowPowers: Float64Array;
  private readonly slowOdds: number;
  private readonly errorPowers: Float64Array;
  private readonly errorOdds: number;
  /** P(latency > p50, p99, 500 ms). */
  readonly exceed: number[];

  constructor(
    rate: number,
    readonly errorRate: number,
    latency: Latency,
  ) {
    const e = (this.exceed = THRESHOLDS.map((t) => exceedance(latency, t)));
    this.low = new PoissonTable(rate * (1 - e[0]!));
    this.mid = new PoissonTable(rate * (e[0]! - e[1]!));
    this.high = new PoissonTable(rate * e[1]!);
    this.slow = e[1]! > 0 ? Math.min(1, e[2]! / e[1]!) : 0;
    this.slowPowers = powers(this.slow);
    this.slowOdds = this.slow / (1 - this.slow);
    if (errorRate > 0.5 && errorRate < 1) throw new Error('error rates in (0.5, 1) are not supported');
    this.errorPowers = powers(errorRate);
    this.errorOdds = errorRate / (1 - errorRate);
  }

  /** Fills `arm` with one look's counts; returns the requests slower than 500 ms (only when `slow500`). */
  sample(rng: Rng, arm: ArmLook, slow500: boolean): number {
    const n0 = this.low.sample(rng.uniform());
    const n1 = this.mid.sample(rng.uniform());
    const n2 = this.high.sample(rng.uniform());
    const n = n0 + n1 + n2;
    let errors = 0;
    const pe = this.errorRate;
    if (n > 0 && pe > 0)
      errors = pe >= 1 ? n : binomial(rng.uniform(), n, pe, this.errorPowers, this.errorOdds);
    arm.requests = n;
    arm.timed = n;
    arm.errors = errors;
    arm.overP50 = n1 + n2;
    arm.overP99 = n2;
    arm.overLimit = 0;
    if (!slow500 || n2 === 0 || this.slow === 0) return 0;
    return this.slow >= 1 ? n2 : binomial(rng.uniform(), n2, this.slow, this.slowPowers, this.slowOdds);
  }
}

/** The phases of a cell, built once per cell and shared by its runs. */
export class CellModel {
  readonly stable: ArmPhase;
  readonly candidate: ArmPhase;
  readonly stableShock?: ArmPhase;
  readonly candidateShock?: ArmPhase;
  readonly candidateCold?: ArmPhase;

  constructor(readonly cell: Cell) {
    const { lambda, weight } = cell;
    const rc = lambda * weight;
    const rs = lambda * (1 - weight);
    this.stable = new ArmPhase(rs, cell.baseError, { factor: 1 });
    this.candidate = new ArmPhase(rc, cell.candError, cell.candLatency);
    if (cell.variant === 'shocks') {
      this.stableShock = new ArmPhase(rs, SHOCK_ERROR, { factor: SHOCK_LATENCY });
      this.candidateShock = new ArmPhase(rc, SHOCK_ERROR, { factor: SHOCK_LATENCY });
    }
    if (cell.variant === 'cold') {
      this.candidateCold = new ArmPhase(rc, cell.candError, { factor: COLD_LATENCY });
    }
  }
}

/** Common shock: both revisions' error rate 20% and latency ×3 for a minute. */
export const SHOCK_ERROR = 0.2;
export const SHOCK_LATENCY = 3;
export const SHOCK_LOOKS = 60;
/** Cold start: the candidate's latency ×4 for its first 30 s. */
export const COLD_LATENCY = 4;
export const COLD_LOOKS = 30;

/** One-sided two-proportion z statistic, or NaN when it cannot be computed. */
function zStat(k1: number, n1: number, k2: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return NaN;
  const p = (k1 + k2) / (n1 + n2);
  if (p <= 0 || p >= 1) return NaN;
  return (k1 / n1 - k2 / n2) / Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
}

const emptyArm = (): ArmLook => ({ requests: 0, errors: 0, timed: 0, overP50: 0, overP99: 0, overLimit: 0 });

export interface SimOptions {
  /** Call judge.decide() at every look, not only when the tests' peak e-values allow a crossing (the same
   * decisions, slower: for checking that shortcut). */
  exactDecide?: boolean;
}

/** Simulates one run: looks t = 1 … 3600, look t covering the second (t − 1, t]. */
export function simulate(model: CellModel, seed: number, run: number, opts: SimOptions = {}): RunOutcome {
  const { exactDecide = false } = opts;
  const { cell } = model;
  const rng = new Rng(runSeed(seed, cell.key, run));
  const shockStart = model.stableShock ? 1 + Math.floor(rng.uniform() * (LOOKS - SHOCK_LOOKS + 1)) : Infinity;
  const shockEnd = shockStart + SHOCK_LOOKS - 1;
  const coldEnd = model.candidateCold ? COLD_LOOKS : 0;

  const judge = new Judge(JUDGE_CONFIG);
  const threshold = 1 / ALPHA;
  const cand = emptyArm();
  const stab = emptyArm();
  const look: Look = { candidate: cand, stable: stab, p50Ms: MEDIAN_MS, p99Ms: P99_MS, atMs: 0 };

  const at = { judge: 0, flagger: 0, ztest: 0 };
  const bad = { judge: 0, flagger: 0, ztest: 0 };
  let judgeTest: TestName | undefined;
  let alive = 3;
  let firstRequest = 0;
  // Harm so far: the candidate's requests, errors and requests over the stable revision's p99.
  let cReq = 0;
  let cErr = 0;
  let cOver99 = 0;
  const harm = cell.harm === 'errors' ? () => cErr - cell.baseError * cReq : () => cOver99 - 0.01 * cReq;
  // Flagger: this interval's canary counts, and the failed checks so far.
  let fReq = 0;
  let fErr = 0;
  let fSlow = 0;
  let fFailed = 0;
  // z-test: cumulative counts (latency after the warm-up, as for the judge).
  let zcReq = 0;
  let zcErr = 0;
  let zsReq = 0;
  let zsErr = 0;
  let zcTimed = 0;
  let zcSlow = 0;
  let zsTimed = 0;
  let zsSlow = 0;

  for (let t = 1; t <= LOOKS && alive > 0; t++) {
    const shock = t >= shockStart && t <= shockEnd;
    const cPhase = t <= coldEnd ? model.candidateCold! : shock ? model.candidateShock! : model.candidate;
    const sPhase = shock ? model.stableShock! : model.stable;
    const cSlow500 = cPhase.sample(rng, cand, true);
    sPhase.sample(rng, stab, false);
    // A look is stamped with its window's start, as the judge expects: the warm-up covers every look that
    // holds a cold request.
    look.atMs = (t - 1) * 1000;

    cReq += cand.requests;
    cErr += cand.errors;
    cOver99 += cand.overP99;
    if (firstRequest === 0 && cand.requests > 0) firstRequest = t;

    if (at.judge === 0) {
      judge.observe(look);
      const bound =
        WEIGHTS.errors * judge.errors.peak + WEIGHTS.p50 * judge.p50.peak + WEIGHTS.p99 * judge.p99.peak;
      if (exactDecide || bound >= threshold) {
        const d = judge.decide({ final: false });
        if (d.decision === 'fail') {
          at.judge = t;
          bad.judge = harm();
          judgeTest = d.test;
          alive--;
        } else if (d.decision !== 'continue') throw new Error(`unexpected decision ${d.decision}`);
      }
    }

    if (at.flagger === 0) {
      fReq += cand.requests;
      fErr += cand.errors;
      fSlow += cSlow500;
      if (t % FLAGGER_INTERVAL === 0) {
        // Success rate ≥ 99% and p99 ≤ 500 ms (at most 1% slower); no requests: a passing check.
        if (fReq > 0 && (fErr * 100 > fReq || fSlow * 100 > fReq)) fFailed++;
        fReq = fErr = fSlow = 0;
        if (fFailed >= FLAGGER_THRESHOLD) {
          at.flagger = t;
          bad.flagger = harm();
          alive--;
        }
      }
    }

    if (at.ztest === 0) {
      zcReq += cand.requests;
      zcErr += cand.errors;
      zsReq += stab.requests;
      zsErr += stab.errors;
      if (look.atMs >= JUDGE_CONFIG.warmupMs) {
        zcTimed += cand.timed;
        zcSlow += cand.overP99;
        zsTimed += stab.timed;
        zsSlow += stab.overP99;
      }
      if (t % Z_EVERY === 0) {
        // NaN (an arm without requests, or a pooled rate of 0) compares false: skipped.
        if (zStat(zcErr, zcReq, zsErr, zsReq) > Z_CRIT || zStat(zcSlow, zcTimed, zsSlow, zsTimed) > Z_CRIT) {
          at.ztest = t;
          bad.ztest = harm();
          alive--;
        }
      }
    }
  }
  // Not rolled back: the harm of the whole hour.
  const end = harm();
  for (const m of METHODS) if (at[m] === 0) bad[m] = end;
  return { at, bad, firstRequest, judgeTest };
}
