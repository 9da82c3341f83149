// What the scrape interval costs the judge of users' traffic: detection time for a candidate failing 1% to 5% of its
// requests at 10% weight with 50 req/s of users, read every 15, 30 or 60 s, beside the probe-only judge (10 req/s
// per arm, a look every 250 ms, the candidate failing its probes as often); and the false rollbacks of a healthy
// candidate over an hour. The action's own Judge, alpha 1% shared between the two sources as the action shares it.
// Seeded; errors only (latency evidence is left out of this model).
//
//   npx tsx bench/analysis/users.ts            (writes bench/results/users-traffic.json)
//   npx tsx bench/analysis/users.ts --quick    (fewer runs; writes nothing)

import { parseArgs } from 'node:util';
import { Judge, type ArmLook, type Look } from '../../src/health/judge.ts';
import { machine, table, writeResults } from '../lib.ts';
import { PoissonTable, Rng, runSeed } from './random.ts';

const { values: opts } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const HEALTHY_RUNS = opts.quick ? 200 : 2000;
const REGRESSION_RUNS = opts.quick ? 100 : 500;
const SEED = 20261201;
const ALPHA = 0.01;
const USERS_RPS = 50;
const WEIGHT = 0.1;
const PROBE_RPS = 10;
const BASELINE = 0.001;
const HOUR_S = 3600;
const READS = [15, 30, 60];
const RATES = [0.01, 0.02, 0.05];

const arm = (requests: number, errors: number): ArmLook => ({
  requests,
  errors,
  timed: 0,
  overP50: 0,
  overP99: 0,
  overLimit: 0,
});

/** Binomial(n, p) by summing uniforms: n is small here (requests in a second). */
function binomial(rng: Rng, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.uniform() < p) k++;
  return k;
}

interface Source {
  /** Seconds between looks. */
  everyS: number;
  /** Requests a second to each arm: [candidate, stable]. */
  rps: [number, number];
  alpha: number;
}

const judgeFor = (alpha: number) => new Judge({ alpha, maxErrorRate: 1, warmupMs: 0 });

/** The second the judge first fails, or undefined if it never does within the hour. */
function runOnce(src: Source, candidateRate: number, seed: number): number | undefined {
  const rng = new Rng(seed);
  const lambdas = src.rps.map((r) => new PoissonTable(Math.min(500, r)));
  const judge = judgeFor(src.alpha);
  const acc = [
    [0, 0],
    [0, 0],
  ];
  // The probes look every 250 ms: modelled per second, four looks a second.
  const perSecond = src.everyS < 1 ? Math.round(1 / src.everyS) : 1;
  for (let t = 1; t <= HOUR_S; t++) {
    for (let sub = 0; sub < perSecond; sub++) {
      for (let a = 0; a < 2; a++) {
        const n = lambdas[a]!.sample(rng.uniform());
        const p = a === 0 ? candidateRate : BASELINE;
        acc[a]![0]! += n;
        acc[a]![1]! += binomial(rng, n, p);
      }
      if (src.everyS < 1 || t % src.everyS === 0) {
        const look: Look = {
          candidate: arm(acc[0]![0]!, acc[0]![1]!),
          stable: arm(acc[1]![0]!, acc[1]![1]!),
          atMs: t * 1000,
        };
        judge.observe(look);
        for (const x of acc) x.fill(0);
        if (judge.decide({ final: false, canPass: false }).decision === 'fail') return t;
      }
    }
  }
  return undefined;
}

function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const sources: { name: string; src: Source }[] = [
  ...READS.map((r) => ({
    name: `users, read every ${r}s`,
    src: {
      everyS: r,
      rps: [USERS_RPS * WEIGHT, USERS_RPS * (1 - WEIGHT)] as [number, number],
      alpha: ALPHA / 2,
    },
  })),
  {
    name: 'probes only (errors on every path)',
    // Per 250 ms look: a quarter of a second's probes.
    src: { everyS: 0.25, rps: [PROBE_RPS / 4, PROBE_RPS / 4] as [number, number], alpha: ALPHA },
  },
];

const rows: (string | number)[][] = [];
const results: Record<string, unknown>[] = [];
for (const { name, src } of sources) {
  let falseRollbacks = 0;
  for (let i = 0; i < HEALTHY_RUNS; i++)
    if (runOnce(src, BASELINE, runSeed(SEED, `${name} healthy`, i)) !== undefined) falseRollbacks++;
  const row: (string | number)[] = [name, `${((falseRollbacks / HEALTHY_RUNS) * 100).toFixed(2)}%`];
  const detect: Record<string, unknown> = {};
  for (const rate of RATES) {
    const times: number[] = [];
    let missed = 0;
    for (let i = 0; i < REGRESSION_RUNS; i++) {
      const t = runOnce(src, rate, runSeed(SEED, `${name} ${rate}`, i));
      if (t === undefined) missed++;
      else times.push(t);
    }
    const m = median(times);
    row.push(m === undefined ? '—' : `${m}s${missed ? ` (${missed} missed)` : ''}`);
    detect[String(rate)] = { medianSeconds: m, missed, runs: REGRESSION_RUNS };
  }
  rows.push(row);
  results.push({
    source: name,
    falseRollbackRate: falseRollbacks / HEALTHY_RUNS,
    healthyRuns: HEALTHY_RUNS,
    detect,
  });
}

const text = table(
  ['source', 'false rollbacks (1 h)', ...RATES.map((r) => `median to detect ${r * 100}%`)],
  rows,
);
console.log(
  `users ${USERS_RPS} req/s, candidate at ${WEIGHT * 100}%, stable errors ${BASELINE * 100}%, alpha ${ALPHA}\n`,
);
console.log(text);
if (!opts.quick) {
  const path = await writeResults('users-traffic', {
    machine: machine(),
    model: {
      usersRps: USERS_RPS,
      weight: WEIGHT,
      probeRps: PROBE_RPS,
      baseline: BASELINE,
      alpha: ALPHA,
      seed: SEED,
    },
    results,
    table: text,
  });
  console.log(`\nwrote ${path}`);
}
