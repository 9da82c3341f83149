// The probes' load generator (src/health/probe.ts) against autocannon, in the same run, on the same local target
// (its own process): the sustained request rate each reaches, and the accuracy of their latency quantiles against
// the delays the target really applied.
//
//   npx tsx bench/probes/run.ts [--quick]

import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Agent } from 'undici';
import { Prober } from '../../src/health/probe.ts';
import { ROOT, table, writeResults } from '../lib.ts';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 2 : 4;
const ROUNDS = QUICK ? 1 : 5;
const CONNECTIONS = 64;
const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;

async function startTarget(mode: 'fast' | 'dist'): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(join(ROOT, 'bench/probes/target.mjs'), [mode], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`target exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our prober for `seconds` at `rps`; completed non-error requests per second and the latency histogram. */
async function ours(url: string, rps: number, seconds: number, maxInFlight = 100_000) {
  const dispatcher = new Agent({ connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 10_000 });
  const p = new Prober({ url }, { path: '/', rps, dispatcher, maxInFlight, timeoutMs: 10_000 }).start();
  await sleep(seconds * 1000);
  const w = p.take();
  p.stop();
  await dispatcher.close();
  return {
    rate: (w.requests - w.errors) / seconds,
    offered: p.offered / seconds,
    errors: w.errors,
    latency: w.latency,
  };
}

async function cannon(url: string, seconds: number, overallRate?: number) {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, overallRate });
  return {
    // autocannon's own average over its per-second samples.
    rate: r.requests.average * (1 - r.non2xx / Math.max(1, r.requests.total)),
    errors: r.errors + r.timeouts + r.non2xx,
    latency: r.latency as unknown as Record<string, number>,
  };
}

async function trueQuantiles(url: string): Promise<number[]> {
  const sorted = (await (await fetch(`${url}/__stats`)).json()) as number[];
  return QUANTILES.map((q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
}

// 1. Sustained rate against the fast target. autocannon is closed loop: 64 connections, each sending its next
// request when the last is answered. Ours is open loop: it sends at the rate asked whatever happens, so it is asked
// for 1.5 times what autocannon reached, with at most 512 requests in flight (beyond that a due request counts as
// an error, as it would in the action); its rate is the requests answered without error per second.
const fast = await startTarget('fast');
await cannon(fast.url, 1); // warm both sides up
await ours(fast.url, 2000, 1, 512);
const rates: { ours: number; autocannon: number; offered: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const a = await cannon(fast.url, SECONDS);
  const o = await ours(fast.url, Math.round(1.5 * a.rate), SECONDS, 512);
  rates.push({ ours: Math.round(o.rate), autocannon: Math.round(a.rate), offered: Math.round(o.offered) });
  console.log(
    `round ${i + 1}: autocannon ${Math.round(a.rate)} req/s; ours offered ${Math.round(o.offered)} req/s, answered ${Math.round(o.rate)} req/s`,
  );
}
fast.child.kill();
const best = (k: 'ours' | 'autocannon') => Math.max(...rates.map((r) => r[k]));
const median = (k: 'ours' | 'autocannon') =>
  rates.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
// The machine's other work varies from second to second: each round pairs the two, back to back.
const ratios = rates.map((r) => r.ours / r.autocannon).sort((a, b) => a - b);
const ratio = ratios[Math.floor(ratios.length / 2)]!;

// 2. Quantile accuracy at 1,000 req/s against known delays.
const dist = await startTarget('dist');
await fetch(`${dist.url}/__stats`);
const o = await ours(dist.url, 1000, SECONDS);
const truthOurs = await trueQuantiles(dist.url);
const a = await cannon(dist.url, SECONDS, 1000);
const truthCannon = await trueQuantiles(dist.url);
dist.child.kill();
const CANNON_KEY = { 0.5: 'p50', 0.9: 'p90', 0.99: 'p99', 0.999: 'p99_9' } as const;
const accuracy = QUANTILES.map((q, i) => {
  const ourV = o.latency.quantile(q)!;
  const theirs = a.latency[CANNON_KEY[q]]!;
  return {
    quantile: `p${q * 100}`,
    trueOurs: round1(truthOurs[i]!),
    ours: round1(ourV),
    oursError: round1(((ourV - truthOurs[i]!) / truthOurs[i]!) * 100),
    trueAutocannon: round1(truthCannon[i]!),
    autocannon: theirs,
    autocannonError: round1(((theirs - truthCannon[i]!) / truthCannon[i]!) * 100),
  };
});

console.log(
  `\nSustained rate (${CONNECTIONS} connections, ${SECONDS} s, ${ROUNDS} rounds, median): ours ${median('ours')} req/s, ` +
    `autocannon ${median('autocannon')} req/s; median of the rounds' ratios ${(ratio * 100).toFixed(0)}% ${ratio >= 0.8 ? '✔' : '✘'} (target ≥ 80%)`,
);
console.log(`\nQuantiles at 1,000 req/s (ms; error against the delays the target applied in the same run)\n`);
console.log(
  table(
    ['quantile', 'true (ours)', 'ours', 'error', 'true (autocannon)', 'autocannon', 'error'],
    accuracy.map((r) => [
      r.quantile,
      r.trueOurs,
      r.ours,
      `${r.oursError}%`,
      r.trueAutocannon,
      r.autocannon,
      `${r.autocannonError}%`,
    ]),
  ),
);
console.log(`\nOurs at 1,000 req/s: ${o.errors} errors; autocannon: ${a.errors}.`);

if (!QUICK) {
  const file = await writeResults('probes', {
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    rates,
    median: { ours: median('ours'), autocannon: median('autocannon') },
    best: { ours: best('ours'), autocannon: best('autocannon') },
    ratio: Math.round(ratio * 1000) / 1000,
    accuracy,
  });
  console.log(`\nWrote ${file}`);
}
