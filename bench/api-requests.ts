// API requests of a healthy deploy: rollouts of 1 to 4 traffic steps (steps 100 | 50 | 25,50 | 10,25,50, each
// ending at 100%), counted from the emulator's request log by kind; the marginal cost of a step by a linear fit,
// and a per-phase breakdown of the 4-step rollout by the action's log groups.
//
//   npx tsx bench/api-requests.ts        (BENCH_RUNS=3 rollouts per step count by default)

import { readFileSync } from 'node:fs';
import { fixture } from '../test/e2e/fixture.ts';
import { DIST, inputEnv, parseOutputFile } from '../test/e2e/runner.ts';
import { benchRuns, linearFit, ms, spawnTimed, stats, table, writeResults } from './lib.ts';

const RUNS = benchRuns(3);
const CONFIGS = [
  { steps: '100', count: 1 },
  { steps: '50', count: 2 },
  { steps: '25,50', count: 3 },
  { steps: '10,25,50', count: 4 },
];
const INPUTS = { interval: '500ms', 'probe-rps': '10', timeout: '10s' };

interface Arrival {
  t: number;
  method: string;
  url: string;
}

const kindOf = (r: { method: string; url: string }) =>
  r.url.includes('watch=true')
    ? 'watch'
    : r.method === 'GET'
      ? 'get'
      : r.method === 'PATCH'
        ? 'patch'
        : 'other';

/** The action's log group a request falls in: the last `::group::` line read before it arrived. */
function phaseOf(t: number, groups: { t: number; title: string }[]): string {
  let phase = 'start (before the Plan group)';
  for (const g of groups) if (g.t <= t) phase = g.title;
  return phase;
}

/** `Step 2/4: 25%25 to hello-v2` → `Step 2/4: 25%`; other group titles up to their first argument. */
const phaseName = (title: string) =>
  title
    .replace(/%25/g, '%')
    .replace(/ to hello-v2$/, '')
    .replace(/^Wait for .*$/, 'Wait for Ready')
    .replace(/^(Smoke test|Deploy|Plan|Promote) .*$/, '$1');

interface RunResult {
  steps: string;
  stepCount: number;
  total: number;
  watch: number;
  get: number;
  patch: number;
  other: number;
  /** "API requests: N" as the action logs it. */
  reported: number | undefined;
  durationMs: number;
  sequence: string;
  phases: Record<string, Record<string, number>>;
}

const results: RunResult[] = [];
for (const config of CONFIGS) {
  for (let i = 0; i < RUNS; i++) {
    const f = await fixture();
    const arrivals: Arrival[] = [];
    f.h.emulator.api.server.on('request', (req) => {
      if (!req.url?.startsWith('/emulator/'))
        arrivals.push({ t: performance.now(), method: req.method ?? '', url: req.url ?? '' });
    });
    const run = await spawnTimed(
      [DIST],
      inputEnv({
        service: 'hello',
        kubeconfig: f.h.emulator.kubeconfig(),
        gateway: f.h.emulator.gatewayUrl,
        image: 'ghcr.io/example/hello:v2',
        'revision-name': 'hello-v2',
        steps: config.steps,
        ...INPUTS,
      }),
      60_000,
    );
    const outputs = parseOutputFile(readFileSync(run.outputFile, 'utf8'));
    const log = f.h.emulator.api.requests.map((r) => ({ ...r }));
    await f.close();
    if (run.code !== 0 || outputs.status !== 'promoted')
      throw new Error(`steps ${config.steps}: exit ${run.code}, status ${outputs.status}\n${run.stdout}`);
    if (arrivals.length !== log.length)
      throw new Error(`request listener saw ${arrivals.length} requests, the emulator logged ${log.length}`);

    const groups = run.lines
      .filter((l) => l.text.startsWith('::group::'))
      .map((l) => ({ t: l.t, title: phaseName(l.text.slice('::group::'.length)) }));
    const phases: Record<string, Record<string, number>> = {};
    for (const a of arrivals) {
      const p = (phases[phaseOf(a.t, groups)] ??= {});
      p[kindOf(a)] = (p[kindOf(a)] ?? 0) + 1;
    }
    const count = (k: string) => log.filter((r) => kindOf(r) === k).length;
    const reported = /^API requests: (\d+)$/m.exec(run.stdout)?.[1];
    results.push({
      steps: config.steps,
      stepCount: config.count,
      total: log.length,
      watch: count('watch'),
      get: count('get'),
      patch: count('patch'),
      other: count('other'),
      reported: reported === undefined ? undefined : Number(reported),
      durationMs: Math.round(run.exitAt - run.spawnAt),
      sequence: log.map((r) => ({ watch: 'W', get: 'G', patch: 'P', other: 'O' })[kindOf(r)]).join(''),
      phases,
    });
  }
}

const med = (rs: RunResult[], pick: (r: RunResult) => number) => stats(rs.map(pick)).median;
const byConfig = CONFIGS.map((c) => {
  const rs = results.filter((r) => r.steps === c.steps);
  return {
    steps: `${c.steps}${c.steps === '100' ? '' : ',100'}`,
    stepCount: c.count,
    total: med(rs, (r) => r.total),
    totalRange: [Math.min(...rs.map((r) => r.total)), Math.max(...rs.map((r) => r.total))],
    watch: med(rs, (r) => r.watch),
    get: med(rs, (r) => r.get),
    patch: med(rs, (r) => r.patch),
    other: med(rs, (r) => r.other),
    reported: med(rs, (r) => r.reported ?? NaN),
    durationMs: med(rs, (r) => r.durationMs),
    sequences: [...new Set(rs.map((r) => r.sequence))],
  };
});

const fits = Object.fromEntries(
  (['total', 'get', 'patch', 'watch'] as const).map((k) => {
    const fit = linearFit(results.map((r) => ({ x: r.stepCount, y: r[k] })));
    return [k, { perStep: Math.round(fit.slope * 100) / 100, fixed: Math.round(fit.intercept * 100) / 100 }];
  }),
);

console.log(
  `API requests per healthy deploy (interval ${INPUTS.interval}, probe-rps ${INPUTS['probe-rps']}), ` +
    `median of ${RUNS} rollouts per row\n`,
);
console.log(
  table(
    ['steps', 'traffic steps', 'total', 'GET', 'PATCH', 'watch', 'action log', 'run ms'],
    byConfig.map((c) => [
      c.steps,
      c.stepCount,
      c.totalRange[0] === c.totalRange[1] ? c.total : `${c.total} (${c.totalRange[0]}–${c.totalRange[1]})`,
      c.get,
      c.patch,
      c.watch,
      c.reported,
      ms(c.durationMs, 0),
    ]),
  ),
);
console.log(
  `\nLinear fit over ${results.length} rollouts: requests = ${fits.total!.fixed} + ${fits.total!.perStep} × steps ` +
    `(per step: ${fits.get!.perStep} GET, ${fits.patch!.perStep} PATCH, ${fits.watch!.perStep} watch; ` +
    `fixed: ${fits.get!.fixed} GET, ${fits.patch!.fixed} PATCH, ${fits.watch!.fixed} watch).`,
);
console.log('(A "step" here is every traffic change, the final 100% promotion included.)');

// Per-phase breakdown of the longest rollout, from its first run.
const four = results.find((r) => r.stepCount === 4)!;
const phaseKinds = (p: Record<string, number>) =>
  ['get', 'patch', 'watch', 'other'].map((k) => p[k] ?? 0) as [number, number, number, number];
console.log(`\nBy log group, steps ${byConfig[3]!.steps} (first run; sequence ${four.sequence}):\n`);
console.log(
  table(
    ['phase', 'GET', 'PATCH', 'watch', 'total'],
    Object.entries(four.phases).map(([name, p]) => {
      const [g, pa, w, o] = phaseKinds(p);
      return [name, g, pa, w, g + pa + w + o];
    }),
  ),
);
const stable = results
  .filter((r) => r.stepCount === 4)
  .every((r) => JSON.stringify(r.phases) === JSON.stringify(four.phases));
console.log(
  stable
    ? `(Identical in all ${RUNS} runs.)`
    : '(The attribution differed between runs: a request can arrive before the log line that precedes it.)',
);
const mismatch = results.filter((r) => r.reported !== r.total);
if (mismatch.length)
  console.log(
    `\nNote: the action's "API requests" line differs from the emulator's count in ${mismatch.length} runs ` +
      `(${mismatch.map((r) => `${r.reported} vs ${r.total}`).join(', ')}).`,
  );

const path = await writeResults('api-requests', {
  runs: RUNS,
  inputs: INPUTS,
  byConfig,
  fit: fits,
  phases4Steps: four.phases,
  phasesStableAcrossRuns: stable,
  rollouts: results,
});
console.log(`\nResults: ${path}`);
