// What a run did, for the workflow log's final table and the job summary (Markdown, with a Mermaid chart).

import { formatDuration } from '../duration.ts';
import { describeWindow, type Window } from '../health/probe.ts';
import type { TrafficTarget } from '../knative/types.ts';

export type Status = 'promoted' | 'rolled-back' | 'progressing' | 'unchanged' | 'planned';

export interface StepReport {
  label: string;
  percent: number;
  startedAt: number;
  endedAt: number;
  candidate?: Window;
  stable?: Window;
  verdict: 'pass' | 'fail' | 'skipped';
  detail: string;
}

export interface RunReport {
  command: string;
  service: string;
  namespace: string;
  status?: Status;
  candidate?: string;
  stable?: string;
  startedAt: number;
  steps: StepReport[];
  /** Candidate percent over time (ms since epoch). */
  timeline: { at: number; percent: number }[];
  traffic: TrafficTarget[];
  message: string;
}

export function newReport(command: string, service: string, namespace: string, now: number): RunReport {
  return { command, service, namespace, startedAt: now, steps: [], timeline: [], traffic: [], message: '' };
}

const sec = (ms: number) => formatDuration(Math.max(0, ms));

function sampleCell(s: Window | undefined): string {
  return s ? describeWindow(s) : '—';
}

const ICON = { pass: '✅', fail: '❌', skipped: '⏭️' } as const;

/** Plain-text table for the workflow log. */
export function logTable(report: RunReport): string {
  const rows = [
    ['step', 'traffic', 'took', 'candidate', 'stable', 'verdict'],
    ...report.steps.map((s) => [
      s.label,
      `${s.percent}%`,
      sec(s.endedAt - s.startedAt),
      sampleCell(s.candidate),
      sampleCell(s.stable),
      s.verdict,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The chart: candidate traffic over time in a Mermaid xychart. Its x axis spaces points evenly, so the timeline
 * is sampled at even times, which draws the steps at their true lengths.
 */
export function mermaidChart(report: RunReport, points = 41): string {
  if (report.timeline.length === 0) return '';
  const end = Math.max(report.timeline.at(-1)!.at, ...report.steps.map((s) => s.endedAt));
  const span = Math.max(1, end - report.startedAt);
  const percentAt = (t: number) => {
    let p = 0;
    for (const e of report.timeline) if (e.at <= t) p = e.percent;
    return p;
  };
  const values = Array.from({ length: points }, (_, i) =>
    percentAt(report.startedAt + (span * i) / (points - 1)),
  );
  const minutes = span >= 180_000;
  const axisEnd = minutes ? Math.ceil(span / 60_000) : Math.ceil(span / 1000);
  return [
    '```mermaid',
    'xychart-beta',
    `  title "Traffic to ${report.candidate ?? 'the candidate'} (%)"`,
    `  x-axis "${minutes ? 'minutes' : 'seconds'} since start" 0 --> ${axisEnd}`,
    '  y-axis "% of traffic" 0 --> 100',
    `  line [${values.join(', ')}]`,
    '```',
  ].join('\n');
}

const HEADLINE: Record<Status, string> = {
  promoted: '🚀 Promoted',
  'rolled-back': '↩️ Rolled back',
  progressing: '⏳ Progressing',
  unchanged: '➖ Unchanged',
  planned: '📝 Planned (dry run)',
};

export function markdownSummary(report: RunReport): string {
  const lines: string[] = [];
  const head = report.status ? HEADLINE[report.status] : '❌ Failed';
  lines.push(`## ${head}: \`${report.namespace}/${report.service}\``, '');
  if (report.message) lines.push(report.message, '');
  const facts: [string, string | undefined][] = [
    ['Command', report.command],
    ['Candidate', report.candidate],
    ['Stable', report.stable],
  ];
  for (const [k, v] of facts) if (v) lines.push(`- **${k}:** \`${v}\``);
  lines.push('');
  if (report.steps.length) {
    lines.push(
      '| Step | Traffic | Started | Took | Candidate | Stable | Verdict |',
      '|---|---|---|---|---|---|---|',
    );
    for (const s of report.steps) {
      lines.push(
        `| ${esc(s.label)} | ${s.percent}% | +${sec(s.startedAt - report.startedAt)} | ${sec(s.endedAt - s.startedAt)} | ${sampleCell(s.candidate)} | ${sampleCell(s.stable)} | ${ICON[s.verdict]} ${esc(s.detail)} |`,
      );
    }
    lines.push('');
  }
  const chart = mermaidChart(report);
  if (chart) lines.push(chart, '');
  if (report.traffic.length) {
    lines.push(
      '<details><summary>Traffic now</summary>',
      '',
      '| Revision | Percent | Tag | URL |',
      '|---|---|---|---|',
    );
    for (const t of report.traffic) {
      lines.push(
        `| ${t.revisionName ?? ''}${t.latestRevision ? ' (latest)' : ''} | ${t.percent ?? 0}% | ${t.tag ?? ''} | ${t.url ?? ''} |`,
      );
    }
    lines.push('', '</details>', '');
  }
  return lines.join('\n');
}
