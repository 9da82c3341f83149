// Shared helpers for the benchmarks: run counts, statistics, tables, results files and a timed spawn of an
// action bundle with the environment the GitHub runner gives it.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { DIST } from '../test/e2e/runner.ts';

export const ROOT = new URL('../', import.meta.url).pathname;
export const RESULTS_DIR = join(ROOT, 'bench/results');

const LOAD_AT_START = loadavg().map((l) => Math.round(l * 100) / 100);
if (LOAD_AT_START[0]! > 0.5 * cpus().length) {
  console.warn(
    `Warning: load average ${LOAD_AT_START.join(' ')} on ${cpus().length} CPUs: other work is running, figures will be noisy.\n`,
  );
}

/** Runs per variant: BENCH_RUNS when set, else the benchmark's default. */
export function benchRuns(fallback: number): number {
  const raw = process.env.BENCH_RUNS;
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_RUNS must be a positive integer, got "${raw}"`);
  return n;
}

export interface Stats {
  n: number;
  min: number;
  median: number;
  p90: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n === 0 ? NaN : n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return {
    n,
    min: sorted[0] ?? NaN,
    median,
    p90: percentile(sorted, 90),
    max: sorted[n - 1] ?? NaN,
    mean: n ? sorted.reduce((s, v) => s + v, 0) / n : NaN,
  };
}

/** Rounds every number in a Stats to `digits` decimals, for the JSON file. */
export function rounded(s: Stats, digits = 1): Stats {
  const f = 10 ** digits;
  const r = (v: number) => Math.round(v * f) / f;
  return {
    n: s.n,
    min: r(s.min),
    median: r(s.median),
    p90: r(s.p90),
    max: r(s.max),
    mean: r(s.mean),
  };
}

export const ms = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** Least-squares line y = intercept + slope * x. */
export function linearFit(points: { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** A plain-text table: numeric columns right-aligned, the others left-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.every((r) => /^[-+]?[\d.]+%?$|^—$/.test(String(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Where and on what the figures were taken: the machine, its load, the commit. */
export function machine(): Record<string, unknown> {
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadAverageAtStart: LOAD_AT_START,
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
  };
}

/** The machine and the action bundle measured, for the results file. */
export function environment(): Record<string, unknown> {
  const dist = readFileSync(DIST);
  return {
    ...machine(),
    dist: {
      bytes: dist.length,
      sha256: createHash('sha256').update(dist).digest('hex').slice(0, 16),
      modified: statSync(DIST).mtime.toISOString(),
    },
  };
}

/** Writes bench/results/<name>.json, formatted as Prettier would so that `npm run lint` stays clean. */
export async function writeResults(name: string, data: Record<string, unknown>): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  const text = JSON.stringify({ benchmark: name, environment: environment(), ...data }, null, 2);
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(text, { ...options, filepath: path }));
  return path;
}

export interface TimedRun {
  /** performance.now() right before spawn(). */
  spawnAt: number;
  /** Date.now() right before spawn(), to compare with the emulator's request log (`at`). */
  spawnWall: number;
  /** performance.now() when the process exited. */
  exitAt: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines with the performance.now() at which the bench process read them. */
  lines: { t: number; text: string }[];
  outputFile: string;
}

/**
 * Spawns `node <args>` with the runner's environment (GITHUB_OUTPUT and friends, plus `env`), and notes the
 * moment just before spawn() on the performance clock, the clock the emulator-side listeners use.
 */
export function spawnTimed(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<TimedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
  const outputFile = join(dir, 'output');
  writeFileSync(outputFile, '');
  writeFileSync(join(dir, 'summary'), '');
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SHA: '0000000000000000000000000000000000000000',
    GITHUB_REPOSITORY: 'example/hello',
    GITHUB_RUN_ID: '1001',
    ...env,
  };
  return new Promise((resolve, reject) => {
    const spawnWall = Date.now();
    const spawnAt = performance.now();
    const child = spawn(process.execPath, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: { t: number; text: string }[] = [];
    child.stdout.on('data', (d: Buffer) => {
      const t = performance.now();
      const text = d.toString();
      stdout += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      for (const line of parts) lines.push({ t, text: line });
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      const exitAt = performance.now();
      clearTimeout(kill);
      // 'close' comes once stdio has drained, so the output is complete.
      child.on('close', () =>
        resolve({ spawnAt, spawnWall, exitAt, code, stdout, stderr, lines, outputFile }),
      );
    });
  });
}
