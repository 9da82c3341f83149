#!/usr/bin/env node
// Compares two folders of e2e run logs (kept with E2E_LOG_DIR by test/e2e/runner.ts) with what varies from run to
// run masked: numbers and durations (timings, counts, ports, e-values, the probes' evidence), ISO times, uuids and
// hex tokens, the runner's output delimiters, temporary paths, and the widths of table columns. The runs of one
// test are compared as a whole when they differ one by one (two racing runs may swap who wins). Prints what
// differs and exits 1 if anything does.
// Usage: node scripts/compare-e2e-logs.mjs BEFORE_DIR AFTER_DIR

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [before, after] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: node scripts/compare-e2e-logs.mjs BEFORE_DIR AFTER_DIR');
  process.exit(2);
}

function mask(text) {
  return text
    .replace(/ghadelimiter_[\w-]+/g, '<delimiter>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>')
    .replace(/\/tmp\/[\w.-]+/g, '<tmp>')
    .replace(/\b[0-9a-f]{16,}\b/g, '<hex>')
    .replace(/\b(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)\b/g, '<duration>')
    .replace(/\d+(\.\d+)?(e[+-]\d+)?/g, '<n>')
    .replace(/[ \t]{2,}/g, '  ');
}

const read = (dir) => {
  const byTest = new Map();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
    const test = f.replace(/_#\d+\.log$/, '');
    if (!byTest.has(test)) byTest.set(test, new Map());
    byTest.get(test).set(f, mask(readFileSync(join(dir, f), 'utf8')));
  }
  return byTest;
};
const a = read(before);
const b = read(after);
let runs = [0, 0];
let differing = 0;
for (const test of [...new Set([...a.keys(), ...b.keys()])].sort()) {
  const x = a.get(test) ?? new Map();
  const y = b.get(test) ?? new Map();
  runs = [runs[0] + x.size, runs[1] + y.size];
  const same = [...new Set([...x.keys(), ...y.keys()])].every((f) => x.get(f) === y.get(f));
  if (same) continue;
  const sorted = (m) => [...m.values()].sort().join('\n\u0000\n');
  if (x.size === y.size && sorted(x) === sorted(y)) continue;
  differing++;
  for (const f of [...new Set([...x.keys(), ...y.keys()])].sort()) {
    if (x.get(f) === y.get(f)) continue;
    if (!x.has(f) || !y.has(f)) {
      console.log(`${f}: only ${x.has(f) ? 'before' : 'after'}`);
      continue;
    }
    const l = x.get(f).split('\n');
    const m = y.get(f).split('\n');
    const i = l.findIndex((line, k) => line !== m[k]);
    console.log(`${f}: differs from line ${i + 1}\n  - ${l[i] ?? '<end>'}\n  + ${m[i] ?? '<end>'}`);
  }
}
console.log(`${runs[0]} runs before, ${runs[1]} after; ${differing} tests differ once masked`);
process.exit(differing ? 1 : 0);
