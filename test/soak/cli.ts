// npm run soak -- --seed N --rollouts M [--concurrency K] [--budget-s S] [--kinds K1,K2] [--only I1,I2]
//                 [--report PATH] [--quiet]
//
// Drives the built action (dist/index.js, run as the runner runs it) through M seeded rollouts on K Services of the
// in-process Knative Serving emulator (loopback only), with faults, cancels and kills, checking every version of
// every Service and every run's outcome. Prints a summary, writes a JSON report (default .tmp/soak-<seed>.json),
// and exits 1 on any violation.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport, summaryText } from './report.ts';
import { CANDIDATE_KINDS, type CandidateKind } from './plan.ts';
import { runSoak } from './soak.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    rollouts: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '3' },
    'budget-s': { type: 'string', default: '900' },
    kinds: { type: 'string' },
    only: { type: 'string' },
    report: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

const num = (name: keyof typeof values, min: number): number => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return v;
};

const seed = num('seed', 0);
const rollouts = num('rollouts', 1);
const concurrency = num('concurrency', 1);
const budgetS = num('budget-s', 1);
const all = CANDIDATE_KINDS.map(([k]) => k);
const kinds = values.kinds?.split(',').map((k) => k.trim()) as CandidateKind[] | undefined;
const unknown = kinds?.filter((k) => !all.includes(k));
if (unknown?.length || kinds?.length === 0) {
  console.error(`--kinds: expected some of ${all.join(', ')}; got ${values.kinds}`);
  process.exit(2);
}
const only = values.only?.split(',').map(Number);
if (only?.some((i) => !Number.isInteger(i) || i < 0 || i >= rollouts)) {
  console.error(`--only: expected rollout indexes below --rollouts, got ${values.only}`);
  process.exit(2);
}
const reportPath = values.report ?? `.tmp/soak-${seed}.json`;

const result = await runSoak({
  seed,
  rollouts,
  concurrency,
  budgetS,
  kinds,
  only,
  log: values.quiet ? undefined : (line) => console.log(line),
});
const report = buildReport(result, { seed, rollouts, concurrency });
mkdirSync(dirname(reportPath), { recursive: true });
writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${summaryText(report, result.ctx)}\n\nreport: ${reportPath}`);
process.exit(report.violations.length || report.errors.length ? 1 : 0);
