// The judge against two references on the same simulated request streams: false rollbacks of healthy candidates
// and the time and harm until regressed ones are rolled back. The model is described in bench/README.md.
//
//   npx tsx bench/analysis/run.ts            (about 15 minutes on 2 cores; writes bench/results/analysis.*)
//   npx tsx bench/analysis/run.ts --quick    (under a minute: fewer cells and runs; writes nothing)
//   options: --runs N (healthy runs per cell), --regression-runs N, --seed N, --workers N; diagnostics:
//   --exact-decide (decide() at every look), --only TEXT (the cells whose key contains TEXT). Only the standard full run writes its results.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as prettier from 'prettier';
import {
  ALPHA,
  JUDGE_CONFIG,
  LOOKS,
  METHODS,
  P99_MS,
  type Cell,
  type Method,
  type Variant,
} from './model.ts';
import type { Task, TaskResult } from './worker.ts';
// Also prints a warning when other work loads the machine.
import { machine } from '../lib.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RESULTS_DIR = join(ROOT, 'bench/results');

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'regression-runs': { type: 'string' },
    seed: { type: 'string', default: '20261128' },
    workers: { type: 'string' },
    'exact-decide': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

const QUICK = opts.quick;
const HEALTHY_RUNS = positive('runs', opts.runs, QUICK ? 300 : 10_000);
const REGRESSION_RUNS = positive(
  'regression-runs',
  opts['regression-runs'],
  opts.runs ? Math.max(1, Math.round(HEALTHY_RUNS / 5)) : QUICK ? 200 : 2_000,
);
const SEED = Number(opts.seed) >>> 0;
const WORKERS = positive('workers', opts.workers, availableParallelism());
const EXACT_DECIDE = opts['exact-decide'];
/** Diagnostics: only the cells whose key contains… */
const ONLY = opts.only;
/** Results are written by the standard full run only. */
const WRITE = !QUICK && ONLY === undefined && !opts.runs && !opts['regression-runs'];

// ---- The cells ----

const VARIANTS: Variant[] = ['plain', 'shocks', 'cold'];
const LAMBDAS = QUICK ? [10, 100] : [1, 10, 100];
const WEIGHTS = QUICK ? [0.1] : [0.05, 0.1, 0.5];
const BASELINES = QUICK ? [0, 0.01] : [0, 0.001, 0.01];
const TARGET_LAMBDA = 50;
const REGRESSION_LAMBDAS = QUICK ? [TARGET_LAMBDA] : [10, TARGET_LAMBDA, 100];
const REGRESSION_WEIGHT = 0.1;

const healthy: Cell[] = [];
for (const variant of VARIANTS)
  for (const lambda of LAMBDAS)
    for (const baseError of BASELINES)
      for (const weight of WEIGHTS)
        healthy.push({
          key: `healthy/${variant}/rate-${lambda}/weight-${weight}/error-${baseError}`,
          kind: 'healthy',
          variant,
          lambda,
          weight,
          baseError,
          candError: baseError,
          candLatency: { factor: 1 },
          harm: 'errors',
        });

interface Scenario {
  name: string;
  baseError: number;
  candError: number;
  factor?: number;
  tail?: boolean;
}

/** Latency regressions keep a 0.1% error rate on both revisions. */
const SCENARIOS: Scenario[] = [
  { name: 'errors 1% → 1.5%', baseError: 0.01, candError: 0.015 },
  { name: 'errors 1% → 2%', baseError: 0.01, candError: 0.02 },
  { name: 'errors 1% → 5%', baseError: 0.01, candError: 0.05 },
  { name: 'errors 1% → 10%', baseError: 0.01, candError: 0.1 },
  { name: 'outage 1% → 100%', baseError: 0.01, candError: 1 },
  { name: 'errors 0.1% → 0.8%', baseError: 0.001, candError: 0.008 },
  { name: 'latency ×1.2', baseError: 0.001, candError: 0.001, factor: 1.2 },
  { name: 'tail: 2% +1000 ms', baseError: 0.001, candError: 0.001, tail: true },
];

const regressions: Cell[] = [];
for (const s of SCENARIOS)
  for (const lambda of REGRESSION_LAMBDAS)
    regressions.push({
      key: `regression/${s.name}/rate-${lambda}/weight-${REGRESSION_WEIGHT}`,
      kind: 'regression',
      variant: 'plain',
      scenario: s.name,
      lambda,
      weight: REGRESSION_WEIGHT,
      baseError: s.baseError,
      candError: s.candError,
      candLatency: s.tail ? { factor: 1, tailShare: 0.02, tailAddMs: 1000 } : { factor: s.factor ?? 1 },
      harm: s.factor || s.tail ? 'latency' : 'errors',
    });

const selected = (c: Cell) => ONLY === undefined || c.key.includes(ONLY);
for (const cells of [healthy, regressions]) cells.splice(0, cells.length, ...cells.filter(selected));

// ---- Running them on a pool of workers ----

interface CellRuns {
  cell: Cell;
  runs: number;
  at: Int32Array;
  bad: Float64Array;
  firstRequest: Int32Array;
  judgeTest: string[];
}

const results = new Map<string, CellRuns>();
const tasks: Task[] = [];
for (const [cells, runs, chunk] of [
  [healthy, HEALTHY_RUNS, 500],
  [regressions, REGRESSION_RUNS, 250],
] as const) {
  for (const cell of cells) {
    results.set(cell.key, {
      cell,
      runs,
      at: new Int32Array(runs * 3),
      bad: new Float64Array(runs * 3),
      firstRequest: new Int32Array(runs),
      judgeTest: new Array<string>(runs).fill(''),
    });
    for (let from = 0; from < runs; from += chunk)
      tasks.push({
        id: 0,
        cell,
        from,
        to: Math.min(runs, from + chunk),
        seed: SEED,
        exactDecide: EXACT_DECIDE,
      });
  }
}
// The busiest cells first, so that the workers finish together.
tasks.sort((a, b) => b.cell.lambda - a.cell.lambda);
tasks.forEach((t, i) => (t.id = i));

function runPool(): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let shown = -1;
    const workers = Array.from(
      { length: Math.min(WORKERS, tasks.length) },
      () => new Worker(new URL('./worker.ts', import.meta.url)),
    );
    const give = (w: Worker) => {
      if (next < tasks.length) w.postMessage(tasks[next++]);
    };
    for (const w of workers) {
      w.on('error', (e) => {
        for (const x of workers) void x.terminate();
        reject(e);
      });
      w.on('message', (r: TaskResult) => {
        const task = tasks[r.id]!;
        const into = results.get(task.cell.key)!;
        into.at.set(r.at, task.from * 3);
        into.bad.set(r.bad, task.from * 3);
        into.firstRequest.set(r.firstRequest, task.from);
        r.judgeTest.forEach((t, i) => (into.judgeTest[task.from + i] = t));
        done++;
        const pct = Math.floor((done / tasks.length) * 10);
        if (pct > shown) {
          shown = pct;
          process.stderr.write(`${pct * 10}% (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
        }
        if (done === tasks.length) {
          for (const x of workers) void x.terminate();
          resolve();
        } else give(w);
      });
      give(w);
    }
  });
}

console.log(
  `${healthy.length} healthy cells × ${HEALTHY_RUNS} runs, ${regressions.length} regression cells × ${REGRESSION_RUNS} runs, ` +
    `${LOOKS} looks of 1 s each, on ${WORKERS} worker threads (seed ${SEED})${EXACT_DECIDE ? ', decide() at every look' : ''}\n`,
);
const started = performance.now();
await runPool();
const wallSeconds = (performance.now() - started) / 1000;

// ---- Statistics ----

const Z95 = 1.959963984540054;

/** Wilson score interval, 95%. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const h = (Z95 / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - h), Math.min(1, centre + h)];
}

/** Median (mean of the middle two) and nearest-rank p90 of values where Infinity means "not within the hour". */
function quantiles(values: number[]): { median: number; p90: number } {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return { median: NaN, p90: NaN };
  const median = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return { median, p90: s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]! };
}

const round = (x: number, d = 6) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

interface HealthyMethod {
  rollbacks: number;
  rate: number;
  ci95: [number, number];
  /** Median look of the false rollbacks. */
  medianAt: number | null;
}

function healthyStats(r: CellRuns): Record<Method, HealthyMethod> & { judgeByTest: Record<string, number> } {
  const out = {} as Record<Method, HealthyMethod>;
  METHODS.forEach((m, j) => {
    const ats: number[] = [];
    for (let i = 0; i < r.runs; i++) if (r.at[i * 3 + j]) ats.push(r.at[i * 3 + j]!);
    const [lo, hi] = wilson(ats.length, r.runs);
    out[m] = {
      rollbacks: ats.length,
      rate: ats.length / r.runs,
      ci95: [lo, hi],
      medianAt: ats.length ? quantiles(ats).median : null,
    };
  });
  const judgeByTest: Record<string, number> = {};
  for (const t of r.judgeTest) if (t) judgeByTest[t] = (judgeByTest[t] ?? 0) + 1;
  return { ...out, judgeByTest };
}

interface RegressionMethod {
  rolledBack: number;
  /** Seconds from the start; Infinity (null in JSON) when over half (a tenth) were not rolled back. */
  medianS: number;
  p90S: number;
  /** Seconds from the look with the candidate's first request (that whole second counted). */
  medianFromFirstRequestS: number;
  medianBad: number;
}

function regressionStats(r: CellRuns): Record<Method, RegressionMethod> {
  const out = {} as Record<Method, RegressionMethod>;
  METHODS.forEach((m, j) => {
    const times: number[] = [];
    const fromFirst: number[] = [];
    const bads: number[] = [];
    let caught = 0;
    for (let i = 0; i < r.runs; i++) {
      const at = r.at[i * 3 + j]!;
      if (at) caught++;
      times.push(at || Infinity);
      fromFirst.push(at ? at - r.firstRequest[i]! + 1 : Infinity);
      bads.push(r.bad[i * 3 + j]!);
    }
    const q = quantiles(times);
    out[m] = {
      rolledBack: caught / r.runs,
      medianS: q.median,
      p90S: q.p90,
      medianFromFirstRequestS: quantiles(fromFirst).median,
      medianBad: quantiles(bads).median,
    };
  });
  return out;
}

// ---- Tables ----

const NAMES: Record<Method, string> = { judge: 'judge', flagger: 'Flagger-style', ztest: 'z-test' };
const pct = (x: number, d = 2) => (x * 100).toFixed(d);
const secs = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : '> 3600');
const count = (x: number) => (Math.abs(x) >= 10 ? String(Math.round(x)) : x.toFixed(1));
const share = (x: number) => `${Math.round(x * 1000) / 10}%`;

function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const hStats = new Map(healthy.map((c) => [c.key, healthyStats(results.get(c.key)!)]));
const rStats = new Map(regressions.map((c) => [c.key, regressionStats(results.get(c.key)!)]));

const healthyHeaders = ['variant', 'req/s', 'error rate'];
for (const m of METHODS) for (const w of WEIGHTS) healthyHeaders.push(`${NAMES[m]} ${w * 100}%`);
const healthyRows: string[][] = [];
for (const variant of VARIANTS)
  for (const lambda of LAMBDAS)
    for (const baseError of BASELINES) {
      const row = [variant, String(lambda), `${baseError * 100}%`];
      let any = false;
      for (const m of METHODS)
        for (const weight of WEIGHTS) {
          const c = healthy.find(
            (x) =>
              x.variant === variant &&
              x.lambda === lambda &&
              x.baseError === baseError &&
              x.weight === weight,
          );
          const s = c && hStats.get(c.key)![m];
          if (s) any = true;
          row.push(
            !s
              ? '—'
              : m === 'judge'
                ? `${pct(s.rate)} (${pct(s.ci95[0])}–${pct(s.ci95[1])})`
                : pct(s.rate, 1),
          );
        }
      if (any) healthyRows.push(row);
    }

const regressionHeaders = ['regression', 'req/s'];
for (const m of METHODS)
  regressionHeaders.push(`${NAMES[m]}: rolled back`, 'median s', 'p90 s', 'bad requests');
const regressionRows: string[][] = [];
for (const s of SCENARIOS)
  for (const lambda of REGRESSION_LAMBDAS) {
    const c = regressions.find((x) => x.scenario === s.name && x.lambda === lambda);
    if (!c) continue;
    const st = rStats.get(c.key)!;
    const row = [s.name, String(lambda)];
    for (const m of METHODS)
      row.push(share(st[m].rolledBack), secs(st[m].medianS), secs(st[m].p90S), count(st[m].medianBad));
    regressionRows.push(row);
  }

// ---- Targets ----

const target = (name: string) => {
  const c = regressions.find((x) => x.scenario === name && x.lambda === TARGET_LAMBDA);
  return c && rStats.get(c.key)!.judge;
};
const targets: { target: string; ok: boolean; value: string }[] = [];
const t5 = target('errors 1% → 5%');
if (t5)
  targets.push({
    target: `1% → 5% errors at 10% weight, ${TARGET_LAMBDA} req/s: rolled back in under 40 s (median)`,
    ok: t5.medianS < 40,
    value: `median ${secs(t5.medianS)} s, p90 ${secs(t5.p90S)} s`,
  });
const t08 = target('errors 0.1% → 0.8%');
if (t08)
  targets.push({
    target: `0.1% → 0.8% errors caught within the hour in ≥ 95% of runs (${TARGET_LAMBDA} req/s, 10%)`,
    ok: t08.rolledBack >= 0.95,
    value: share(t08.rolledBack),
  });
const tOut = target('outage 1% → 100%');
if (tOut)
  targets.push({
    target: `total outage rolled back within 5 s of the candidate's first request (median; ${TARGET_LAMBDA} req/s, 10%)`,
    ok: tOut.medianFromFirstRequestS <= 5,
    value: `median ${secs(tOut.medianFromFirstRequestS)} s`,
  });
if (healthy.length) {
  let worst = { key: '', rate: -1, lo: 0, hi: 0 };
  for (const c of healthy) {
    const s = hStats.get(c.key)!.judge;
    if (s.rate > worst.rate) worst = { key: c.key, rate: s.rate, lo: s.ci95[0], hi: s.ci95[1] };
  }
  const above = healthy.filter((c) => hStats.get(c.key)!.judge.ci95[0] > ALPHA);
  const overPoint = healthy.filter((c) => hStats.get(c.key)!.judge.rate > ALPHA);
  targets.push({
    target: `healthy false rollbacks ≤ α = ${ALPHA * 100}% in every cell (Wilson 95% lower bound ≤ α)`,
    ok: above.length === 0,
    value:
      `highest ${pct(worst.rate)}% (${pct(worst.lo)}–${pct(worst.hi)}) in ${worst.key}` +
      (overPoint.length
        ? `; above α in ${overPoint.length} cell(s): ${overPoint.map((c) => `${c.key} ${pct(hStats.get(c.key)!.judge.rate)}%`).join(', ')}`
        : ''),
  });
}

// ---- Output ----

const judgeTests: Record<string, number> = {};
for (const c of healthy)
  for (const [t, k] of Object.entries(hStats.get(c.key)!.judgeByTest))
    judgeTests[t] = (judgeTests[t] ?? 0) + k;

const md = [
  `# Analysis: the judge against a Flagger-style analysis and a naive z-test`,
  ``,
  `${QUICK ? 'Quick run (fewer cells and runs). ' : ''}Simulated, seed ${SEED}; ${LOOKS} looks of 1 s; judge ${JSON.stringify(JUDGE_CONFIG)} (comparative tests only); latency thresholds: the stable revision's true p50 50 ms and p99 ${P99_MS.toFixed(1)} ms. Wall time ${wallSeconds.toFixed(0)} s on ${WORKERS} worker threads.`,
  ``,
  `## Healthy candidates: false rollbacks within the hour (% of ${HEALTHY_RUNS} runs per cell)`,
  ``,
  `Columns are the canary weight; the judge's cells give the Wilson 95% interval. The judge's false rollbacks by test, all cells: ${
    Object.entries(judgeTests)
      .map(([t, k]) => `${t} ${k}`)
      .join(', ') || 'none'
  }.`,
  ``,
  markdownTable(healthyHeaders, healthyRows),
  ``,
  `## Regressions at 10% weight (${REGRESSION_RUNS} runs per row, 1-hour cap)`,
  ``,
  `Time to roll back in seconds from the start ("> 3600": not rolled back within the hour in over half, or a tenth, of the runs). Bad requests: median over all runs, until the rollback or the hour's end; for error regressions the candidate's errors beyond its baseline rate times its requests, for latency regressions its requests slower than the stable revision's p99 beyond 1% of its requests.`,
  ``,
  markdownTable(regressionHeaders, regressionRows),
  ``,
  `## Targets (the judge)`,
  ``,
  ...targets.map((t) => `- ${t.ok ? '✔' : '✘'} ${t.target}: ${t.value}`),
  ``,
].join('\n');

console.log(md);
console.log(`Wall time: ${wallSeconds.toFixed(1)} s`);

if (!WRITE) {
  console.log('\n(not the standard full run: results not written)');
} else {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const fileHash = (p: string) =>
    createHash('sha256')
      .update(readFileSync(join(ROOT, p)))
      .digest('hex')
      .slice(0, 16);
  let dirty = '';
  try {
    dirty = execFileSync('git', ['status', '--porcelain', 'src/health'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    /* not a git checkout */
  }
  const healthyJson = healthy.map((c) => {
    const s = hStats.get(c.key)!;
    return {
      variant: c.variant,
      lambda: c.lambda,
      weight: c.weight,
      errorRate: c.baseError,
      runs: HEALTHY_RUNS,
      judgeByTest: s.judgeByTest,
      ...Object.fromEntries(
        METHODS.map((m) => [
          m,
          {
            rollbacks: s[m].rollbacks,
            rate: round(s[m].rate),
            ci95: s[m].ci95.map((x) => round(x)),
            medianAt: s[m].medianAt,
          },
        ]),
      ),
    };
  });
  const regressionJson = regressions.map((c) => {
    const s = rStats.get(c.key)!;
    return {
      scenario: c.scenario,
      lambda: c.lambda,
      weight: c.weight,
      stableErrorRate: c.baseError,
      candidateErrorRate: c.candError,
      candidateLatency: c.candLatency,
      harm: c.harm,
      runs: REGRESSION_RUNS,
      ...Object.fromEntries(
        METHODS.map((m) => [
          m,
          {
            rolledBack: round(s[m].rolledBack),
            medianS: round(s[m].medianS, 1),
            p90S: round(s[m].p90S, 1),
            medianFromFirstRequestS: round(s[m].medianFromFirstRequestS, 1),
            medianBadRequests: round(s[m].medianBad, 1),
          },
        ]),
      ),
    };
  });
  const data = {
    benchmark: 'analysis',
    environment: {
      ...machine(),
      uncommittedInSrcHealth: dirty ? dirty.split('\n') : [],
      sha256: {
        'src/health/judge.ts': fileHash('src/health/judge.ts'),
        'src/health/sequential.ts': fileHash('src/health/sequential.ts'),
      },
    },
    settings: {
      seed: SEED,
      looks: LOOKS,
      lookSeconds: 1,
      healthyRuns: HEALTHY_RUNS,
      regressionRuns: REGRESSION_RUNS,
      workers: WORKERS,
      judge: JUDGE_CONFIG,
      p50Ms: 50,
      p99Ms: round(P99_MS, 3),
      nullsInJson: 'a median or p90 of null: not rolled back within the hour in enough runs',
    },
    wallSeconds: round(wallSeconds, 1),
    targets,
    healthy: healthyJson,
    regressions: regressionJson,
  };
  const jsonPath = join(RESULTS_DIR, 'analysis.json');
  const mdPath = join(RESULTS_DIR, 'analysis.md');
  const fmt = async (text: string, path: string) =>
    prettier.format(text, { ...((await prettier.resolveConfig(path)) ?? {}), filepath: path });
  writeFileSync(jsonPath, await fmt(JSON.stringify(data, null, 2), jsonPath));
  writeFileSync(mdPath, await fmt(md, mdPath));
  console.log(`\nWrote ${jsonPath} and ${mdPath}`);
}
