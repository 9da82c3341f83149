// Cold start: from spawning `node dist/index.js` to its first API request arriving at the emulator, against the
// same measure for a bare action (bench/bare-action.ts, bundled like the action) and for plain `node -e fetch`.
//
//   npx tsx bench/cold-start.ts          (BENCH_RUNS=20 by default)

import { build, type BuildOptions } from 'esbuild';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs module without types
import { bundleOptions as sharedOptions } from '../scripts/esbuild-options.mjs';
import { fixture } from '../test/e2e/fixture.ts';
import { DIST, inputEnv, parseOutputFile } from '../test/e2e/runner.ts';
import {
  benchRuns,
  ms,
  ROOT,
  rounded,
  spawnTimed,
  stats,
  table,
  writeResults,
  type TimedRun,
} from './lib.ts';

const RUNS = benchRuns(20);
const WARMUP = 2;

const bundleOptions = sharedOptions as BuildOptions;

/** Bundles bench/bare-action.ts with scripts/build.mjs's settings into a temporary directory. */
async function buildBare(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'bench-bare-')), 'index.js');
  // Without the action's one-undici plugin: it only helps a bundle that has undici twice, and would swap the
  // bare action's small undici 6 for the larger undici 8.
  await build({ ...bundleOptions, plugins: [], entryPoints: [join(ROOT, 'bench/bare-action.ts')], outfile });
  return outfile;
}

const f = await fixture();
const { emulator } = f.h;
const bare = await buildBare();

// The emulator's request log stamps Date.now() once the body is read; this listener stamps the moment the request
// head is parsed, on the same performance clock as the spawn.
const arrivals: { t: number; url: string }[] = [];
emulator.api.server.on('request', (req) => {
  if (!req.url?.startsWith('/emulator/')) arrivals.push({ t: performance.now(), url: req.url ?? '' });
});

interface Variant {
  name: string;
  what: string;
  args: string[];
  env: Record<string, string>;
  /** Checks that the run did what it should; returns a problem or undefined. */
  check(run: TimedRun): string | undefined;
}

const variants: Variant[] = [
  {
    name: 'action',
    what: `dist/index.js, command status (${(statSync(DIST).size / 1024).toFixed(0)} KiB)`,
    args: [DIST],
    env: inputEnv({ service: 'hello', kubeconfig: emulator.kubeconfig(), command: 'status' }),
    check: (r) => {
      const out = parseOutputFile(readFileSync(r.outputFile, 'utf8'));
      return r.code === 0 && out.status === 'unchanged' && out['stable-revision'] === 'hello-00001'
        ? undefined
        : `exit ${r.code}, outputs ${JSON.stringify(out)}\n${r.stdout}${r.stderr}`;
    },
  },
  {
    name: 'bare',
    what: `bench/bare-action.ts bundled (${(statSync(bare).size / 1024).toFixed(0)} KiB)`,
    args: [bare],
    // The bare action reads its input as the runner passes it.
    env: { 'INPUT_API-URL': emulator.apiUrl },
    check: (r) => {
      const out = parseOutputFile(readFileSync(r.outputFile, 'utf8'));
      return r.code === 0 && out['git-version'] ? undefined : `exit ${r.code}\n${r.stdout}${r.stderr}`;
    },
  },
  {
    name: 'node',
    what: 'node -e "fetch(/version)", no bundle',
    args: ['-e', 'fetch(process.env.API_URL + "/version").then((r) => r.text())'],
    env: { API_URL: emulator.apiUrl },
    check: (r) => (r.code === 0 ? undefined : `exit ${r.code}\n${r.stderr}`),
  },
];

interface Sample {
  firstRequestMs: number;
  /** The same interval from the emulator's own request log (Date.now() granularity, after the body is read). */
  firstRequestLogMs: number;
  exitMs: number;
  requests: number;
}
const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));

for (let i = 0; i < WARMUP + RUNS; i++) {
  // Rotate the order so no variant always runs right after another.
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(i + k) % variants.length]!;
    arrivals.length = 0;
    emulator.api.requests.length = 0;
    const run = await spawnTimed(v.args, v.env);
    const problem = v.check(run);
    if (problem) throw new Error(`${v.name} run failed: ${problem}`);
    if (arrivals.length === 0) throw new Error(`${v.name} made no API request`);
    if (i < WARMUP) continue;
    samples.get(v.name)!.push({
      firstRequestMs: arrivals[0]!.t - run.spawnAt,
      firstRequestLogMs: emulator.api.requests[0]!.at - run.spawnWall,
      exitMs: run.exitAt - run.spawnAt,
      requests: arrivals.length,
    });
  }
}
await f.close();

const summary = variants.map((v) => {
  const s = samples.get(v.name)!;
  return {
    name: v.name,
    what: v.what,
    requests: s[0]!.requests,
    firstRequest: rounded(stats(s.map((x) => x.firstRequestMs))),
    firstRequestFromLog: rounded(stats(s.map((x) => x.firstRequestLogMs))),
    exit: rounded(stats(s.map((x) => x.exitMs))),
  };
});

console.log(
  `Cold start: spawn → first API request at the emulator, ${RUNS} runs each (+${WARMUP} warm-up)\n`,
);
console.log(
  table(
    ['variant', 'median ms', 'p90 ms', 'min ms', 'exit median ms', 'requests', 'what'],
    summary.map((s) => [
      s.name,
      ms(s.firstRequest.median),
      ms(s.firstRequest.p90),
      ms(s.firstRequest.min),
      ms(s.exit.median),
      s.requests,
      s.what,
    ]),
  ),
);
const [action, bareS, node] = summary;
console.log(
  `\nThe action's bundle costs ${ms(action!.firstRequest.median - bareS!.firstRequest.median)} ms over the bare action ` +
    `(median); the bare action ${ms(bareS!.firstRequest.median - node!.firstRequest.median)} ms over plain node.`,
);
console.log(
  `Cross-check from the emulator's request log (Date.now()): action median ${ms(action!.firstRequestFromLog.median)} ms, ` +
    `bare ${ms(bareS!.firstRequestFromLog.median)} ms.`,
);

const path = await writeResults('cold-start', {
  runs: RUNS,
  warmup: WARMUP,
  unit: 'ms',
  measure: 'performance.now() just before spawn() → API server "request" event of the first API request',
  variants: summary,
  samples: Object.fromEntries(
    [...samples].map(([k, v]) => [k, v.map((x) => Math.round(x.firstRequestMs * 10) / 10)]),
  ),
});
console.log(`\nResults: ${path}`);
