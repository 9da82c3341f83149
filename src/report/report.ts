// What a run did, rendered from one model for the workflow log (plain text), the job summary (Markdown with a
// Mermaid chart) and the reply to a comment command (the same Markdown, several Services in one comment).

import { formatDuration } from '../duration.ts';
import { describeWindow, type Window } from '../health/probe.ts';
import type { TrafficTarget } from '../knative/types.ts';

export type Status =
  | 'promoted'
  | 'rolled-back'
  | 'progressing'
  | 'paused'
  /** A closed pull request's preview removed: its tag gone (a preview still parked is rolled back). */
  | 'closed'
  | 'unchanged'
  | 'planned'
  | 'refused'
  | 'ignored'
  /** The run failed without reaching any of the above: its error says what, and where traffic is. */
  | 'failed';

export interface StepReport {
  label: string;
  percent: number;
  startedAt: number;
  endedAt: number;
  candidate?: Window;
  stable?: Window;
  /** `interrupted`: the run stopped during the step (a cancel, an error) before a verdict. */
  verdict: 'pass' | 'fail' | 'interrupted';
  detail: string;
  /** What users' traffic showed in this step, from Prometheus, when it was read. */
  users?: { candidate: string; stable: string };
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
  /** Whether the rollout reported on ever gave its candidate traffic (unknown without a rollout). */
  hadTraffic?: boolean;
  /** Candidate percent over time (ms since epoch). */
  timeline: { at: number; percent: number }[];
  traffic: TrafficTarget[];
  message: string;
  /** Where the rollout stands at the end of the run, from its state on the Service. */
  rollout?: { phase: string; percent: number; step?: string; paused?: string; tagUrl?: string };
}

export function newReport(command: string, service: string, namespace: string, now: number): RunReport {
  return { command, service, namespace, startedAt: now, steps: [], timeline: [], traffic: [], message: '' };
}

const sec = (ms: number) => formatDuration(Math.max(0, ms));

function sampleCell(s: Window | undefined): string {
  return s ? describeWindow(s) : '—';
}

const ICON = { pass: '✅', fail: '❌', interrupted: '⏹️' } as const;

// ---- the model: the same rows for every rendering ------------------------------------------------------------

/** The steps with their evidence: label, traffic, start, duration, candidate, stable, verdict, detail. */
export function stepRows(report: RunReport): {
  label: string;
  traffic: string;
  started: string;
  took: string;
  candidate: string;
  stable: string;
  /** Users' traffic of the step, '—' when it was not read; undefined when no step of the run read it. */
  usersCandidate?: string;
  usersStable?: string;
  verdict: StepReport['verdict'];
  detail: string;
}[] {
  const users = report.steps.some((s) => s.users);
  return report.steps.map((s) => ({
    label: s.label,
    traffic: `${s.percent}%`,
    started: `+${sec(s.startedAt - report.startedAt)}`,
    took: sec(s.endedAt - s.startedAt),
    candidate: sampleCell(s.candidate),
    stable: sampleCell(s.stable),
    ...(users ? { usersCandidate: s.users?.candidate ?? '—', usersStable: s.users?.stable ?? '—' } : {}),
    verdict: s.verdict,
    detail: s.detail,
  }));
}

/** Where the rollout stands: the status table of the summary and of a comment reply, and the log's last lines. */
export function statusRows(report: RunReport): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['Service', `${report.namespace}/${report.service}`],
    ['Status', report.status ?? 'failed'],
    ['Command', report.command],
    ['Candidate', report.candidate],
    ['Stable', report.stable],
    [
      'Rollout',
      report.rollout
        ? `${report.rollout.phase} at ${report.rollout.percent}%` +
          (report.rollout.step ? `, ${report.rollout.step}` : '') +
          (report.rollout.paused ? `, paused by ${report.rollout.paused}` : '')
        : undefined,
    ],
    ['Candidate URL', report.rollout?.tagUrl],
    ['Traffic', trafficText(report.traffic)],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
}

function trafficText(traffic: TrafficTarget[]): string {
  return traffic
    .filter((t) => (t.percent ?? 0) > 0)
    .map((t) => `${t.revisionName ?? 'latest'} ${t.percent}%`)
    .join(', ');
}

// ---- plain text, for the log -----------------------------------------------------------------------------------

function aligned(rows: string[][]): string {
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

/** Plain-text table of the steps for the workflow log. */
export function logTable(report: RunReport): string {
  const rows = stepRows(report);
  if (rows.some((r) => r.usersCandidate !== undefined)) {
    return aligned([
      ['step', 'traffic', 'took', 'candidate', 'stable', "candidate (users')", "stable (users')", 'verdict'],
      ...rows.map((r) => [
        r.label,
        r.traffic,
        r.took,
        r.candidate,
        r.stable,
        r.usersCandidate!,
        r.usersStable!,
        r.verdict,
      ]),
    ]);
  }
  return aligned([
    ['step', 'traffic', 'took', 'candidate', 'stable', 'verdict'],
    ...rows.map((r) => [r.label, r.traffic, r.took, r.candidate, r.stable, r.verdict]),
  ]);
}

/** Plain-text status for the workflow log. */
export function logStatus(report: RunReport): string {
  return aligned(statusRows(report).map(([k, v]) => [`${k}:`, v]));
}

// ---- Markdown, for the job summary and comment replies ---------------------------------------------------------

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function statusTable(report: RunReport): string[] {
  return ['| | Now |', '|---|---|', ...statusRows(report).map(([k, v]) => `| **${k}** | ${esc(v)} |`)];
}

function stepsTable(report: RunReport): string[] {
  if (!report.steps.length) return [];
  const rows = stepRows(report);
  if (rows.some((r) => r.usersCandidate !== undefined)) {
    return [
      "| Step | Traffic | Started | Took | Candidate (probes) | Stable (probes) | Candidate (users') | Stable (users') | Verdict |",
      '|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${esc(r.label)} | ${r.traffic} | ${r.started} | ${r.took} | ${r.candidate} | ${r.stable} | ${r.usersCandidate} | ${r.usersStable} | ${ICON[r.verdict]} ${esc(r.detail)} |`,
      ),
      '',
    ];
  }
  return [
    '| Step | Traffic | Started | Took | Candidate | Stable | Verdict |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${esc(r.label)} | ${r.traffic} | ${r.started} | ${r.took} | ${r.candidate} | ${r.stable} | ${ICON[r.verdict]} ${esc(r.detail)} |`,
    ),
    '',
  ];
}

/**
 * The chart's colours, GitHub's own (both themes): blue for the candidate, grey for the stable revision, green and
 * red for the marks of a step that passed or failed.
 */
const COLOUR = { candidate: '#0969da', stable: '#6e7781', pass: '#1a7f37', fail: '#cf222e' } as const;

/**
 * The value of a sample without a mark. A bar at 0 would still be drawn, a strip as tall as the y axis' padding
 * under 0 (a coloured band along the whole x axis); xychart draws a bar from its value down to the plot's bottom,
 * and a value a whole axis below 0 (the padding is at most a fifth of it) gives a negative height, which browsers do
 * not draw.
 */
const NO_BAR = -100;

/**
 * The chart: the candidate's and the stable revision's share of traffic over time, in a Mermaid xychart. Its x
 * axis spaces points evenly from 0 to its end, so the timeline is sampled at even times over exactly that range,
 * which draws each step at its true time and length. None when the candidate never had traffic.
 *
 * Each traffic step's verdict is marked where it came (the step's end): a bar as high as the step's traffic, green
 * when it passed, red when it failed, at the sample nearest that time and none elsewhere. xychart has no annotations,
 * so the marks are bar series, one per kind that occurs, declared before the lines so that the lines are drawn over
 * them; xychart colours series by their index across bars and lines, so the palette lists only the series drawn.
 * A step interrupted before its verdict, and the 0% steps (ready, smoke), are not marked. A line under the chart
 * says what the marks mean.
 */
export function mermaidChart(report: RunReport, points = 81): string {
  if (!report.timeline.some((e) => e.percent > 0)) return '';
  const end = Math.max(report.timeline.at(-1)!.at, ...report.steps.map((s) => s.endedAt));
  const span = Math.max(1, end - report.startedAt);
  const unit = span >= 180_000 ? 60_000 : 1000;
  const axisEnd = Math.max(1, Math.ceil(span / unit));
  const percentAt = (t: number) => {
    let p = 0;
    for (const e of report.timeline) if (e.at <= t) p = e.percent;
    return p;
  };
  const candidate = Array.from({ length: points }, (_, i) =>
    percentAt(report.startedAt + (axisEnd * unit * i) / (points - 1)),
  );
  const stable = candidate.map((p) => 100 - p);
  const marks = (['pass', 'fail'] as const)
    .map((verdict) => {
      const bars: number[] = Array.from({ length: points }, () => NO_BAR);
      for (const s of report.steps) {
        if (s.verdict !== verdict || s.percent <= 0) continue;
        const at = (s.endedAt - report.startedAt) / (axisEnd * unit);
        const i = Math.min(points - 1, Math.max(0, Math.round(at * (points - 1))));
        bars[i] = Math.max(bars[i]!, Math.min(100, s.percent));
      }
      return { verdict, bars };
    })
    .filter((m) => m.bars.some((b) => b > 0));
  const palette = [...marks.map((m) => COLOUR[m.verdict]), COLOUR.candidate, COLOUR.stable].join(', ');
  const legend = marks.length
    ? [
        '',
        `<sub>A bar marks where a step's verdict came, as high as its traffic: ${marks
          .map((m) => (m.verdict === 'pass' ? 'green, it passed' : 'red, it failed'))
          .join('; ')}.</sub>`,
      ]
    : [];
  return [
    '```mermaid',
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`,
    'xychart-beta',
    `  title "Traffic (%): ${report.candidate ?? 'candidate'} in blue, ${report.stable ?? 'stable'} in grey"`,
    `  x-axis "${unit === 60_000 ? 'minutes' : 'seconds'} since start" 0 --> ${axisEnd}`,
    '  y-axis "% of traffic" 0 --> 100',
    ...marks.map((m) => `  bar [${m.bars.join(', ')}]`),
    `  line [${candidate.join(', ')}]`,
    `  line [${stable.join(', ')}]`,
    '```',
    ...legend,
  ].join('\n');
}

const HEADLINE: Record<Status, string> = {
  failed: '❌ Failed',
  promoted: '🚀 Promoted',
  'rolled-back': '↩️ Rolled back',
  progressing: '⏳ Progressing',
  paused: '⏸️ Paused',
  closed: '🧹 Preview removed',
  refused: '🚫 Refused',
  ignored: '➖ Ignored',
  unchanged: '➖ Unchanged',
  planned: '📝 Planned (dry run)',
};

export function markdownSummary(report: RunReport): string {
  const lines: string[] = [];
  // A candidate rolled back before it had any traffic was stopped, not rolled back.
  const never = report.status === 'rolled-back' && report.hadTraffic === false;
  const head = never
    ? '✋ Stopped before any traffic'
    : report.status
      ? HEADLINE[report.status]
      : '❌ Failed';
  lines.push(`## ${head}: \`${report.namespace}/${report.service}\``, '');
  if (report.message) lines.push(report.message, '');
  lines.push(...statusTable(report), '');
  lines.push(...stepsTable(report));
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

export const COMMENT_LIMIT = 60_000;

/** The reply to a comment command: each Service's summary, under what was asked and by whom. */
export function commentBody(
  reports: RunReport[],
  meta: { command: string; actor: string; runUrl?: string },
): string {
  const lines = [
    `\`${meta.command}\` by ${meta.actor}${meta.runUrl ? ` · [workflow run](${meta.runUrl})` : ''}`,
    '',
  ];
  if (!reports.length) lines.push('No Service to act on.', '');
  for (const r of reports) lines.push(markdownSummary(r).replace(/^## /, '### '));
  const body = lines.join('\n');
  // GitHub refuses comments over 65,536 characters: the log has the rest.
  if (body.length <= COMMENT_LIMIT) return body;
  const more = `\n\n… cut at ${COMMENT_LIMIT} characters: the workflow run's log and summary have it all.`;
  return body.slice(0, COMMENT_LIMIT - more.length) + more;
}

const SEVERITY: Status[] = [
  'failed',
  'rolled-back',
  'refused',
  'progressing',
  'paused',
  'promoted',
  'closed',
  'planned',
  'unchanged',
  'ignored',
];

/** The status of a run over several Services: the most severe, or `unchanged` when there were none. */
export function worstStatus(reports: RunReport[]): Status {
  let worst: Status = 'unchanged';
  for (const r of reports) {
    const s = r.status;
    if (s && SEVERITY.indexOf(s) < SEVERITY.indexOf(worst)) worst = s;
  }
  return worst;
}
