import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/health/histogram.ts';
import {
  COMMENT_LIMIT,
  commentBody,
  logStatus,
  logTable,
  markdownSummary,
  mermaidChart,
  newReport,
  statusRows,
  worstStatus,
} from '../../src/report/report.ts';

const latencies = (...ms: number[]) => {
  const h = new Histogram();
  for (const x of ms) h.record(x);
  return h;
};

function report() {
  const r = newReport('deploy', 'hello', 'default', 0);
  r.status = 'rolled-back';
  r.candidate = 'hello-v2';
  r.stable = 'hello-v1';
  r.message = 'Rolled back hello-v2: 50% step failed.';
  r.timeline = [
    { at: 0, percent: 0 },
    { at: 2000, percent: 10 },
    { at: 62_000, percent: 50 },
    { at: 75_000, percent: 0 },
  ];
  r.steps = [
    { label: 'smoke', percent: 0, startedAt: 1000, endedAt: 1500, verdict: 'pass', detail: '1 passed' },
    {
      label: 'step 1',
      percent: 10,
      startedAt: 2000,
      endedAt: 62_000,
      candidate: { requests: 600, errors: 0, latency: latencies(5, 7, 9), warm: latencies(5, 7, 9) },
      verdict: 'pass',
      detail: 'ok',
    },
    {
      label: 'step 2',
      percent: 50,
      startedAt: 62_000,
      endedAt: 75_000,
      candidate: { requests: 130, errors: 12, latency: latencies(5), warm: latencies(5) },
      verdict: 'fail',
      detail: 'error rate | over',
    },
  ];
  return r;
}

/** A bar series of n samples: the marks given, none (-100, not drawn) elsewhere. */
const bars = (n: number, marks: Record<number, number>) =>
  Array.from({ length: n }, (_, i) => marks[i] ?? -100).join(', ');

describe('report', () => {
  it("charts both revisions' shares at even times over the axis as drawn, in colours GitHub shows", () => {
    expect(mermaidChart(report(), 16)).toBe(
      [
        '```mermaid',
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1a7f37, #cf222e, #0969da, #6e7781"}}}}%%',
        'xychart-beta',
        '  title "Traffic (%): hello-v2 in blue, hello-v1 in grey"',
        '  x-axis "seconds since start" 0 --> 75',
        '  y-axis "% of traffic" 0 --> 100',
        // The marks: step 1 passed at 62 s (the sample at 60 s), at 10%; step 2 failed at 75 s, at 50%. None at
        // the other samples (-100: not drawn) and none for the smoke test at 0%.
        `  bar [${bars(16, { 12: 10 })}]`,
        `  bar [${bars(16, { 15: 50 })}]`,
        '  line [0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 50, 50, 0]',
        '  line [100, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 50, 50, 100]',
        '```',
        '',
        "<sub>A bar marks where a step's verdict came, as high as its traffic: green, it passed; red, it failed.</sub>",
      ].join('\n'),
    );
  });

  it('marks only the kinds of verdict that occur, with a palette of only the series drawn', () => {
    const r = report();
    r.steps[2] = { ...r.steps[2]!, verdict: 'pass' };
    const chart = mermaidChart(r, 16);
    expect(chart).toContain('"plotColorPalette": "#1a7f37, #0969da, #6e7781"');
    expect(chart).toContain(`  bar [${bars(16, { 12: 10, 15: 50 })}]`);
    expect(chart.match(/ {2}bar /g)).toHaveLength(1);
    expect(chart).toContain('green, it passed.</sub>');
    expect(chart).not.toContain('red');
  });

  it('marks no step interrupted before its verdict, nor one at 0%: then no bars, the palette of the lines', () => {
    const r = report();
    r.steps[1] = { ...r.steps[1]!, verdict: 'interrupted' };
    r.steps[2] = { ...r.steps[2]!, verdict: 'interrupted' };
    r.steps[0] = { ...r.steps[0]!, verdict: 'fail' };
    const chart = mermaidChart(r, 16);
    expect(chart).toContain('"plotColorPalette": "#0969da, #6e7781"');
    expect(chart).not.toContain('bar [');
    expect(chart).not.toContain('<sub>');
    expect(chart.endsWith('```')).toBe(true);
  });

  it('keeps one mark of two verdicts of a kind at the same sample, the higher', () => {
    const r = report();
    r.steps.push({
      label: 'step 3',
      percent: 30,
      startedAt: 62_000,
      endedAt: 62_100,
      verdict: 'pass',
      detail: 'ok',
    });
    expect(mermaidChart(r, 16)).toContain(`  bar [${bars(16, { 12: 30 })}]`);
  });

  it('ends the axis where its samples end: a step is drawn at its time on a short run too', () => {
    // 2.5 s of run, drawn on an axis to 3 s: the 10% step at 1.5 s is the sample at 1.5 s, half way.
    const r = newReport('deploy', 'hello', 'default', 0);
    r.timeline = [
      { at: 0, percent: 0 },
      { at: 1500, percent: 10 },
      { at: 2500, percent: 100 },
    ];
    const chart = mermaidChart(r, 7);
    expect(chart).toContain('x-axis "seconds since start" 0 --> 3');
    // Samples at 0, 0.5, ..., 3 s.
    expect(chart).toContain('  line [0, 0, 0, 10, 10, 100, 100]');
  });

  it('draws no chart when the candidate never had traffic', () => {
    const r = newReport('deploy', 'hello', 'default', 0);
    r.timeline = [{ at: 0, percent: 0 }];
    r.steps = [
      { label: 'ready', percent: 0, startedAt: 0, endedAt: 300_000, verdict: 'fail', detail: 'not Ready' },
    ];
    expect(mermaidChart(r)).toBe('');
    expect(markdownSummary(r)).not.toContain('mermaid');
  });

  it('summarises steps with timings and verdicts, escaping table cells', () => {
    const md = markdownSummary(report());
    expect(md).toContain('## ↩️ Rolled back: `default/hello`');
    expect(md).toContain(
      '| step 2 | 50% | +1m2s | 13s | 130 req, 12 err (9.2%), p50 5.0 ms, p99 5.0 ms | — | ❌ error rate \\| over |',
    );
  });

  it("shows users' traffic beside the probes when a step read it, in both tables", () => {
    const r = report();
    r.steps[2] = {
      ...r.steps[2]!,
      users: {
        candidate: '40 req, 12 err (30.0%), p50 ≤ 10 ms, p99 ≤ 50 ms',
        stable: '360 req, 0 err (0.0%), p50 ≤ 10 ms, p99 ≤ 25 ms',
      },
    };
    const md = markdownSummary(r);
    expect(md).toContain(
      "| Step | Traffic | Started | Took | Candidate (probes) | Stable (probes) | Candidate (users') | Stable (users') | Verdict |",
    );
    expect(md).toContain(
      '| 40 req, 12 err (30.0%), p50 ≤ 10 ms, p99 ≤ 50 ms | 360 req, 0 err (0.0%), p50 ≤ 10 ms, p99 ≤ 25 ms | ❌',
    );
    // A step that did not read users' traffic says so.
    expect(md).toMatch(/\| step 1 \| 10% \|.* \| — \| — \| ✅/);
    const log = logTable(r);
    expect(log.split('\n')[0]).toMatch(
      /^step +traffic +took +candidate +stable +candidate \(users'\) +stable \(users'\) +verdict$/,
    );
    // Without users' traffic, the tables are as they were.
    expect(markdownSummary(report())).toContain(
      '| Step | Traffic | Started | Took | Candidate | Stable | Verdict |',
    );
  });

  it('prints an aligned table for the log', () => {
    const lines = logTable(report()).split('\n');
    expect(lines[0]).toMatch(/^step\s+traffic\s+took\s+candidate\s+stable\s+verdict$/);
    expect(lines[2]).toMatch(
      /^step 1\s+10%\s+1m\s+600 req, 0 err \(0\.0%\), p50 7\.0 ms, p99 9\.0 ms\s+—\s+pass$/,
    );
  });
});

describe('one renderer for the log, the job summary and a comment reply', () => {
  const withRollout = () => {
    const r = report();
    r.status = 'progressing';
    r.rollout = {
      phase: 'stepping',
      percent: 10,
      step: 'step 1 of 3',
      tagUrl: 'http://latest-hello.default.example.com',
    };
    r.traffic = [
      { revisionName: 'hello-v1', percent: 90, tag: 'stable', latestRevision: false },
      { revisionName: 'hello-v2', percent: 10, tag: 'latest', latestRevision: false },
    ];
    return r;
  };

  it('shows the same status rows in the log and in Markdown', () => {
    const r = withRollout();
    expect(statusRows(r)).toEqual([
      ['Service', 'default/hello'],
      ['Status', 'progressing'],
      ['Command', 'deploy'],
      ['Candidate', 'hello-v2'],
      ['Stable', 'hello-v1'],
      ['Rollout', 'stepping at 10%, step 1 of 3'],
      ['Candidate URL', 'http://latest-hello.default.example.com'],
      ['Traffic', 'hello-v1 90%, hello-v2 10%'],
    ]);
    expect(logStatus(r).split('\n')[5]).toMatch(/^Rollout:\s+stepping at 10%, step 1 of 3$/);
    expect(markdownSummary(r)).toContain('| **Rollout** | stepping at 10%, step 1 of 3 |');
  });

  it('replies to a comment with each Service under what was asked, the summary one heading down', () => {
    const body = commentBody([withRollout(), { ...report(), service: 'world' }], {
      command: '/canary promote 10',
      actor: '@octocat',
      runUrl: 'https://github.com/o/r/actions/runs/1',
    });
    expect(body.split('\n')[0]).toBe(
      '`/canary promote 10` by @octocat · [workflow run](https://github.com/o/r/actions/runs/1)',
    );
    expect(body).toContain('### ⏳ Progressing: `default/hello`');
    expect(body).toContain('### ↩️ Rolled back: `default/world`');
    expect(body).toContain('| step 2 | 50% | +1m2s | 13s |');
    expect(body).toContain('```mermaid');
  });

  it('gives the most severe status of several', () => {
    const a = report();
    const b = { ...report(), status: 'promoted' as const };
    expect(worstStatus([b, a])).toBe('rolled-back');
    expect(worstStatus([b, { ...b, status: 'paused' }])).toBe('paused');
    expect(worstStatus([])).toBe('unchanged');
  });
});

describe('comment length', () => {
  it('cuts a reply that GitHub would refuse, saying where the rest is', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ ...report(), service: `svc-${i}` }));
    const body = commentBody(many, { command: '/canary status', actor: '@a' });
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body).toMatch(/… cut at 60000 characters: the workflow run's log and summary have it all\.$/);
  });
});
