// Ready latency: from the candidate revision turning Ready in the emulator to the action acting on it. The
// revision becomes Ready 300 ms after it is created (EMULATOR_READY_DELAY_MS), so the action is already watching
// the Service by then. Timestamps, all on this process's performance clock:
//
//   ready     the store's first event with Revision hello-v2 at Ready=True
//   resolved  the store's first event with Service status.traffic tag "latest" → hello-v2 (what the action waits for)
//   logged    the bench reads the action's "✔ hello-v2 is Ready" line from its stdout
//   smoke     the smoke test's request reaches the gateway (Host latest-hello...); smoke done: its response ends
//   get       the action's next API request after resolved (since writes build on the Service the watch
//             delivered, this is the step-1 PATCH itself)
//   patch     the step-1 PATCH
//
//   npx tsx bench/ready-latency.ts        (BENCH_RUNS=10 by default)

import { readFileSync } from 'node:fs';
import { fixture } from '../test/e2e/fixture.ts';
import { DIST, inputEnv, parseOutputFile } from '../test/e2e/runner.ts';
import type { KObject } from '../test/emulator/util.ts';
import { benchRuns, ms, rounded, spawnTimed, stats, table, writeResults } from './lib.ts';

const RUNS = benchRuns(10);
const CANDIDATE = 'hello-v2';
const READY_DELAY_MS = 300;

const isReady = (o: KObject) =>
  ((o.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
const tagTarget = (o: KObject, tag: string) =>
  ((o.status?.traffic ?? []) as { tag?: string; revisionName?: string }[]).find((t) => t.tag === tag)
    ?.revisionName;

interface Sample {
  ready: number;
  resolved: number;
  logged: number;
  smoke: number;
  smokeDone: number;
  get: number;
  patch: number;
  /** The last watch request before Ready: the action was watching already when this is before `ready`. */
  watchStarted: number;
  /** "is Ready after X" as the action logs it, in ms (from its deploy write to the tag resolving). */
  actionReadyMs: number;
}

const samples: Sample[] = [];
for (let i = 0; i < RUNS; i++) {
  const f = await fixture();
  const { emulator } = f.h;
  const marks: Partial<Sample> = {};
  emulator.store.subscribe((e) => {
    const t = performance.now();
    if (e.plural === 'revisions' && e.object.metadata.name === CANDIDATE && isReady(e.object))
      marks.ready ??= t;
    if (e.plural === 'services' && tagTarget(e.object, 'latest') === CANDIDATE) marks.resolved ??= t;
  });
  const api: { t: number; method: string; url: string }[] = [];
  emulator.api.server.on('request', (req) => {
    if (!req.url?.startsWith('/emulator/'))
      api.push({ t: performance.now(), method: req.method ?? '', url: req.url ?? '' });
  });
  const gateway: { t: number; host: string; done?: number }[] = [];
  emulator.gateway.server.on('request', (req, res) => {
    const entry: { t: number; host: string; done?: number } = {
      t: performance.now(),
      host: req.headers.host ?? '',
    };
    gateway.push(entry);
    res.on('finish', () => (entry.done = performance.now()));
  });

  const run = await spawnTimed(
    [DIST],
    inputEnv({
      service: 'hello',
      kubeconfig: emulator.kubeconfig(),
      gateway: emulator.gatewayUrl,
      image: 'ghcr.io/example/hello:v2',
      'revision-name': CANDIDATE,
      env: `EMULATOR_READY_DELAY_MS=${READY_DELAY_MS}`,
      steps: '50',
      interval: '500ms',
      'probe-rps': '10',
      timeout: '10s',
    }),
    60_000,
  );
  const outputs = parseOutputFile(readFileSync(run.outputFile, 'utf8'));
  await f.close();
  if (run.code !== 0 || outputs.status !== 'promoted')
    throw new Error(`run ${i + 1}: exit ${run.code}, status ${outputs.status}\n${run.stdout}${run.stderr}`);

  const { ready, resolved } = marks;
  if (ready === undefined || resolved === undefined)
    throw new Error(`run ${i + 1}: no Ready or no resolved tag`);
  const readyLine = run.lines.find((l) => l.text.startsWith(`✔ ${CANDIDATE} is Ready after `));
  const smoke = gateway.find((g) => g.t >= resolved && g.host.startsWith('latest-hello.'));
  const next = api.find((a) => a.t >= resolved && !a.url.includes('watch=true'));
  const patch = api.find((a) => a.t >= resolved && a.method === 'PATCH');
  const watch = api.filter((a) => a.t < ready && a.url.includes('watch=true')).at(-1);
  if (!readyLine || !smoke?.done || !next || !patch || !watch)
    throw new Error(`run ${i + 1}: missing a mark\n${run.stdout}`);
  const readyMs = /is Ready after (\d+(?:\.\d+)?)(ms|s)/.exec(readyLine.text);
  samples.push({
    ready,
    resolved,
    logged: readyLine.t,
    smoke: smoke.t,
    smokeDone: smoke.done,
    get: next.t,
    patch: patch.t,
    watchStarted: watch.t,
    actionReadyMs: readyMs ? Number(readyMs[1]) * (readyMs[2] === 's' ? 1000 : 1) : NaN,
  });
}

const intervals: { key: string; label: string; who: string; values: number[] }[] = [
  {
    key: 'readyToResolved',
    label: '(a) revision Ready → Service tag "latest" resolved',
    who: 'emulator reconcile',
    values: samples.map((s) => s.resolved - s.ready),
  },
  {
    key: 'resolvedToLogged',
    label: '    resolved → action logs "is Ready" (stdout)',
    who: 'action: watch event',
    values: samples.map((s) => s.logged - s.resolved),
  },
  {
    key: 'resolvedToSmoke',
    label: '    resolved → smoke request at gateway',
    who: 'action',
    values: samples.map((s) => s.smoke - s.resolved),
  },
  {
    key: 'smokeDuration',
    label: '    smoke request → response sent',
    who: 'emulator revision',
    values: samples.map((s) => s.smokeDone - s.smoke),
  },
  {
    key: 'smokeDoneToPatch',
    label: '    smoke response → step-1 PATCH',
    who: 'action',
    values: samples.map((s) => s.patch - s.smokeDone),
  },
  {
    key: 'resolvedToPatch',
    label: '(b) resolved → step-1 PATCH (smoke test included)',
    who: 'action',
    values: samples.map((s) => s.patch - s.resolved),
  },
  {
    key: 'readyToPatch',
    label: '(a+b) revision Ready → step-1 PATCH',
    who: 'both',
    values: samples.map((s) => s.patch - s.ready),
  },
];

console.log(
  `Ready latency: EMULATOR_READY_DELAY_MS=${READY_DELAY_MS}, steps 50,100, ${RUNS} runs ` +
    `(the action was watching before Ready in ${samples.filter((s) => s.watchStarted < s.ready).length}/${RUNS})\n`,
);
console.log(
  table(
    ['interval', 'median ms', 'p90 ms', 'min ms', 'max ms', 'by'],
    intervals.map((iv) => {
      const s = stats(iv.values);
      return [iv.label, ms(s.median), ms(s.p90), ms(s.min), ms(s.max), iv.who];
    }),
  ),
);
const actionReady = stats(samples.map((s) => s.actionReadyMs));
console.log(
  `\nThe action's own "is Ready after" (deploy write → tag resolved, as it saw it): median ${ms(actionReady.median, 0)} ms ` +
    `for a ${READY_DELAY_MS} ms readiness delay.`,
);

const path = await writeResults('ready-latency', {
  runs: RUNS,
  readyDelayMs: READY_DELAY_MS,
  unit: 'ms',
  intervals: Object.fromEntries(
    intervals.map((iv) => [iv.key, { label: iv.label.trim(), by: iv.who, ...rounded(stats(iv.values)) }]),
  ),
  actionReportedReadyMs: rounded(actionReady, 0),
  samples: samples.map((s) =>
    Object.fromEntries(
      Object.entries(s).map(([k, v]) => [k, Math.round((k === 'actionReadyMs' ? v : v - s.ready) * 10) / 10]),
    ),
  ),
  samplesNote: 'times relative to revision Ready (ms); actionReadyMs as logged',
});
console.log(`\nResults: ${path}`);
