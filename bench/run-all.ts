// Runs the benchmarks in sequence (bench/analysis, long, is run on its own), each in its own process: `npm run bench`.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Not imported from lib.ts: that would print its load warning here as well as in each benchmark.
const ROOT = new URL('../', import.meta.url).pathname;

const BENCHMARKS = ['cold-start.ts', 'api-requests.ts', 'ready-latency.ts', 'probes/run.ts'];

let failed = 0;
for (const name of BENCHMARKS) {
  console.log(`\n=== bench/${name} ===\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', name)], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  if (r.status !== 0) {
    console.error(`bench/${name} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;
