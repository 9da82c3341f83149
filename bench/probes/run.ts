// The probes' load generator (src/health/probe.ts) against autocannon, in the same run, on the same local target
// (its own process): the sustained request rate each reaches, and the accuracy of their latency quantiles against
// the delays the target really applied.
//
//   npx tsx bench/probes/run.ts [--quick]      (full: about 75 s; --quick: about 15 s, writes no results)

import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { Prober } from '../../src/health/probe.ts';
import { ROOT, table, writeResults } from '../lib.ts';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 2 : 5;
const ROUNDS = QUICK ? 1 : 5;
/** Warm-up runs, discarded (none with --quick, which only checks that everything works). */
const WARMUP_SECONDS = QUICK ? 0 : 1;
/** Connections of autocannon, and of the undici Agent our prober is given (as many as the action's own agent). */
const CONNECTIONS = 64;
/** Asked of our prober in the rate test: well above what this machine can answer. */
const OFFERED_RPS = 50_000;
/** So that no due request is refused (the action's default is 1,000): the backlog waits in the prober. */
const MAX_IN_FLIGHT = 1_000_000;
/** Rate test: longer than a round, so that no request times out. */
const RATE_TIMEOUT_MS = 60_000;
const QUANTILE_RPS = 1000;
const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;
const CANNON_KEY = { 0.5: 'p50', 0.9: 'p90', 0.99: 'p99', 0.999: 'p99_9' } as const;

/** The system's monotonic clock in ms, as the target stamps it (process.hrtime is CLOCK_MONOTONIC on Linux). */
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Nearest-rank quantile (the ⌈q·n⌉-th smallest), as our histogram and autocannon's define it. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

interface Target {
  url: string;
  child: ChildProcess;
  /** CPU time the target's process has used, in µs (Linux /proc), or undefined. */
  cpuUs(): number | undefined;
}

async function startTarget(mode: 'fast' | 'dist'): Promise<Target> {
  const child = fork(join(ROOT, 'bench/probes/target.mjs'), [mode], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`target exited ${code}`)));
  });
  const cpuUs = () => {
    try {
      // utime and stime, the 14th and 15th fields, in clock ticks (100 per second on Linux).
      const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) * 10_000;
    } catch {
      return undefined;
    }
  };
  return { url: `http://127.0.0.1:${port}`, child, cpuUs };
}

interface RateRun {
  /** Completed non-error requests per second of wall time. */
  rate: number;
  requests: number;
  errors: number;
  seconds: number;
  /** CPU time per completed request, µs: this process (the load generator), and the target. */
  clientUsPerReq: number;
  serverUsPerReq?: number;
}

/** Runs `fn` (which returns completed and error counts) and adds its wall time and CPU per request. */
async function measured(target: Target, fn: () => Promise<{ ok: number; errors: number }>): Promise<RateRun> {
  const server0 = target.cpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { ok, errors } = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const server1 = target.cpuUs();
  return {
    rate: ok / seconds,
    requests: ok,
    errors,
    seconds,
    clientUsPerReq: (cpu.user + cpu.system) / ok,
    serverUsPerReq: server0 !== undefined && server1 !== undefined ? (server1 - server0) / ok : undefined,
  };
}

/** Our prober asked for OFFERED_RPS for `seconds`: what it got answered, without error. */
async function oursFlatOut(target: Target, seconds: number): Promise<RateRun & { offered: number }> {
  let offered = 0;
  const run = await measured(target, async () => {
    const dispatcher = new Agent({ connections: CONNECTIONS, keepAliveTimeout: 10_000 });
    const p = new Prober(
      { url: target.url },
      { path: '/', rps: OFFERED_RPS, dispatcher, maxInFlight: MAX_IN_FLIGHT, timeoutMs: RATE_TIMEOUT_MS },
    ).start();
    await sleep(seconds * 1000);
    const w = p.take();
    offered = p.offered;
    p.stop();
    await dispatcher.destroy();
    return { ok: w.requests - w.errors, errors: w.errors };
  });
  return { ...run, offered: offered / run.seconds };
}

/** autocannon, closed loop on CONNECTIONS connections for `seconds`. */
async function cannonFlatOut(target: Target, seconds: number): Promise<RateRun> {
  return measured(target, async () => {
    const r = await autocannon({ url: target.url, connections: CONNECTIONS, duration: seconds });
    return { ok: r['2xx'], errors: r.errors + r.timeouts + r.non2xx };
  });
}

// 1. Quantile accuracy at QUANTILE_RPS against known delays, first: the rate test leaves a large heap behind, whose
// collection would stall the prober's schedule. Each generator's quantiles are compared with those of the delays the
// target applied (arrival to answer written) to the requests that generator counted: those answered before it
// stopped counting, as the target's clock shows.
interface TargetLog {
  arrived: number[];
  done: number[];
  drawn: number[];
}
const dist = await startTarget('dist');
const targetLog = async () => (await (await fetch(`${dist.url}/__stats`)).json()) as TargetLog;

function truth(log: TargetLog, endedAt: number) {
  const held: number[] = [];
  for (let i = 0; i < log.done.length; i++)
    if (log.done[i]! <= endedAt) held.push(log.done[i]! - log.arrived[i]!);
  held.sort((a, b) => a - b);
  // Arrivals per 100 ms, whole bins only: how evenly the load came.
  const t0 = Math.min(...log.arrived);
  const bins = new Array<number>(Math.floor((Math.max(...log.arrived) - t0) / 100)).fill(0);
  for (const t of log.arrived) {
    const b = Math.floor((t - t0) / 100);
    if (b < bins.length) bins[b]!++;
  }
  return {
    n: held.length,
    quantiles: QUANTILES.map((q) => quantile(held, q)),
    drawn: QUANTILES.map((q) =>
      quantile(
        [...log.drawn].sort((a, b) => a - b),
        q,
      ),
    ),
    arrivalsPer100ms: { min: Math.min(...bins), max: Math.max(...bins) },
  };
}

/** Our prober at QUANTILE_RPS, with the action's defaults (5 s timeout, at most 1,000 in flight). */
async function oursAtRate(seconds: number) {
  const dispatcher = new Agent({ connections: CONNECTIONS, keepAliveTimeout: 10_000 });
  const toMono = mono() - performance.now();
  const startedAt = performance.now(); // the prober's own start, within microseconds
  const p = new Prober({ url: dist.url }, { path: '/', rps: QUANTILE_RPS, dispatcher }).start();
  await sleep(seconds * 1000);
  const w = p.take();
  const endedAt = mono();
  p.stop();
  await dispatcher.destroy();
  await sleep(300); // the abandoned requests' answers, so they are in this log and not the next
  const log = await targetLog();
  // How late each request reached the target after it was due: the i-th arrival against the i-th due time (they
  // are sent in order). Part of what the prober counts as latency, by design.
  const arrived = [...log.arrived].sort((a, b) => a - b);
  const lag = arrived
    .map((t, i) => t - (startedAt + toMono + (i * 1000) / QUANTILE_RPS))
    .sort((a, b) => a - b);
  return {
    n: w.requests,
    errors: w.errors,
    measured: QUANTILES.map((q) => w.latency.quantile(q)!),
    truth: truth(log, endedAt),
    dueToArrivalMs: {
      p50: round(quantile(lag, 0.5), 2),
      p99: round(quantile(lag, 0.99), 2),
      max: round(lag.at(-1)!, 2),
    },
  };
}

/** autocannon with `overallRate`, its latency correction on (its default) or off. */
async function cannonAtRate(correct: boolean) {
  const wallToMono = Date.now() - mono();
  const r = await autocannon({
    url: dist.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    overallRate: QUANTILE_RPS,
    ignoreCoordinatedOmission: !correct,
  });
  // It counts answers until it closes its connections, and stamps that moment (Date.now()) as `finish`.
  const endedAt = r.finish.getTime() - wallToMono;
  await sleep(300);
  const t = truth(await targetLog(), endedAt);
  return {
    n: r['2xx'],
    errors: r.errors + r.timeouts + r.non2xx,
    /** Values in its latency histogram: more than requests when it adds corrections. */
    histogramCount: (r.latency as { totalCount?: number }).totalCount,
    measured: QUANTILES.map((q) => r.latency[CANNON_KEY[q]]),
    truth: t,
  };
}
await targetLog(); // connects fetch's own pool, and starts the log afresh
if (WARMUP_SECONDS) await oursAtRate(WARMUP_SECONDS); // compiles the prober's and undici's hot paths
const oursQ = await oursAtRate(SECONDS);
const cannonQ = await cannonAtRate(true);
const cannonRawQ = await cannonAtRate(false);
dist.child.kill();

type QRun = typeof oursQ | typeof cannonQ;
const errorsOf = (r: QRun) =>
  QUANTILES.map((q, i) => {
    const t = r.truth.quantiles[i]!;
    const m = r.measured[i]!;
    return {
      quantile: `p${q * 100}`,
      truth: round(t, 2),
      measured: round(m, 2),
      absMs: round(m - t, 2),
      relPct: round(((m - t) / t) * 100, 1),
    };
  });
const accuracy = {
  ours: { ...oursQ, rows: errorsOf(oursQ) },
  autocannon: { ...cannonQ, rows: errorsOf(cannonQ) },
  autocannonUncorrected: { ...cannonRawQ, rows: errorsOf(cannonRawQ) },
};

// 2. Sustained rate against the fast target. Each round runs the two back to back, in alternating order, because
// the machine's speed drifts (other VMs share its host): the paired ratios are steadier than either rate.
const fast = await startTarget('fast');
if (WARMUP_SECONDS) {
  await cannonFlatOut(fast, WARMUP_SECONDS);
  await oursFlatOut(fast, WARMUP_SECONDS);
}
const rounds: { autocannon: RateRun; ours: RateRun & { offered: number }; ratio: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  let a: RateRun, o: RateRun & { offered: number };
  if (i % 2 === 0) {
    a = await cannonFlatOut(fast, SECONDS);
    await sleep(200);
    o = await oursFlatOut(fast, SECONDS);
  } else {
    o = await oursFlatOut(fast, SECONDS);
    await sleep(200);
    a = await cannonFlatOut(fast, SECONDS);
  }
  await sleep(200);
  rounds.push({ autocannon: a, ours: o, ratio: o.rate / a.rate });
  console.log(
    `round ${i + 1}: autocannon ${Math.round(a.rate)} req/s (${round(a.clientUsPerReq)} µs CPU/req); ` +
      `ours offered ${Math.round(o.offered)}, answered ${Math.round(o.rate)} req/s (${round(o.clientUsPerReq)} µs CPU/req): ` +
      `${Math.round((o.rate / a.rate) * 100)}%`,
  );
}
fast.child.kill();

const ratio = median(rounds.map((r) => r.ratio));
const rateSummary = (pick: (r: (typeof rounds)[number]) => RateRun) => ({
  medianRate: Math.round(median(rounds.map((r) => pick(r).rate))),
  medianClientUsPerReq: round(median(rounds.map((r) => pick(r).clientUsPerReq))),
  medianServerUsPerReq: rounds.every((r) => pick(r).serverUsPerReq !== undefined)
    ? round(median(rounds.map((r) => pick(r).serverUsPerReq!)))
    : undefined,
  errors: rounds.reduce((n, r) => n + pick(r).errors, 0),
});
const rate = {
  autocannon: rateSummary((r) => r.autocannon),
  ours: rateSummary((r) => r.ours),
  ratio: round(ratio, 3),
  ratioOfMedians: 0,
};
rate.ratioOfMedians = round(rate.ours.medianRate / rate.autocannon.medianRate, 3);

const signed = (x: number, unit = '') => `${x > 0 ? '+' : ''}${x}${unit}`;
console.log(
  `\nSustained rate (${CONNECTIONS} connections each, ${SECONDS} s, ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}; ours offered ` +
    `${OFFERED_RPS} req/s): autocannon ${rate.autocannon.medianRate} req/s, ours ${rate.ours.medianRate} req/s (medians); ` +
    `median of the rounds' ratios ${(ratio * 100).toFixed(0)}% ${ratio >= 0.8 ? '✔' : '✘'} (target ≥ 80%)`,
);
console.log(
  `CPU per request (median): autocannon ${rate.autocannon.medianClientUsPerReq} µs, ours ${rate.ours.medianClientUsPerReq} µs; ` +
    `the target ${rate.autocannon.medianServerUsPerReq ?? '?'} µs and ${rate.ours.medianServerUsPerReq ?? '?'} µs`,
);
console.log(
  `\nQuantiles at ${QUANTILE_RPS} req/s, ms, against the delays the target applied to the requests counted\n`,
);
const rowsFor = (name: string, r: ReturnType<typeof errorsOf>) =>
  r.map((x) => [name, x.quantile, x.truth, x.measured, signed(x.absMs), signed(x.relPct, '%')]);
console.log(
  table(
    ['generator', 'quantile', 'true', 'measured', 'error ms', 'error'],
    [
      ...rowsFor('ours', accuracy.ours.rows),
      ...rowsFor('autocannon', accuracy.autocannon.rows),
      ...rowsFor('autocannon -C', accuracy.autocannonUncorrected.rows),
    ],
  ),
);
for (const [name, r] of Object.entries(accuracy)) {
  const t = r.truth;
  console.log(
    `${name}: ${r.n} answers counted (${r.errors} errors), target logged ${t.n} by then; ` +
      `arrivals per 100 ms ${t.arrivalsPer100ms.min}–${t.arrivalsPer100ms.max}` +
      ('histogramCount' in r ? `; ${r.histogramCount} values in its latency histogram` : '') +
      ('dueToArrivalMs' in r
        ? `; due → arrival at the target p50 ${r.dueToArrivalMs.p50} ms, p99 ${r.dueToArrivalMs.p99} ms, max ${r.dueToArrivalMs.max} ms`
        : ''),
  );
}

if (!QUICK) {
  const file = await writeResults('probes', {
    probeSource: createHash('sha256')
      .update(readFileSync(join(ROOT, 'src/health/probe.ts')))
      .digest('hex')
      .slice(0, 16),
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    offeredRps: OFFERED_RPS,
    maxInFlight: MAX_IN_FLIGHT,
    rate,
    rateRounds: rounds.map((r) => ({
      autocannon: Math.round(r.autocannon.rate),
      ours: Math.round(r.ours.rate),
      oursOffered: Math.round(r.ours.offered),
      ratio: round(r.ratio, 3),
      clientUsPerReq: { autocannon: round(r.autocannon.clientUsPerReq), ours: round(r.ours.clientUsPerReq) },
      serverUsPerReq: {
        autocannon: r.autocannon.serverUsPerReq && round(r.autocannon.serverUsPerReq),
        ours: r.ours.serverUsPerReq && round(r.ours.serverUsPerReq),
      },
    })),
    quantileRps: QUANTILE_RPS,
    accuracy: Object.fromEntries(
      Object.entries(accuracy).map(([k, r]) => [
        k,
        {
          counted: r.n,
          errors: r.errors,
          targetLogged: r.truth.n,
          ...('histogramCount' in r ? { histogramCount: r.histogramCount } : {}),
          ...('dueToArrivalMs' in r ? { dueToArrivalMs: r.dueToArrivalMs } : {}),
          arrivalsPer100ms: r.truth.arrivalsPer100ms,
          drawnQuantiles: r.truth.drawn.map((x) => round(x, 2)),
          rows: r.rows,
        },
      ]),
    ),
  });
  console.log(`\nWrote ${file}`);
}
