// The soak's summary (printed) and report (JSON): rollouts by candidate kind and outcome, runs and their signals,
// API calls and the faults injected, and each violation with its seed, rollout, Service, timeline and log tails.

import type { RunRecord, SoakContext, Violation } from './context.ts';
import { isRunUser } from './faults.ts';
import { cancelled, killed } from './outcome.ts';
import type { SoakResult } from './soak.ts';

const count = <T>(items: T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
};

/** The end of a run's log, without the runner's masking commands. */
export function logTail(rec: RunRecord, lines = 30): string {
  const out = rec.facts?.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .slice(-lines)
    .join('\n');
  const err = rec.facts?.stderr.trim();
  return `${out ?? '(still running)'}${err ? `\n--- stderr\n${err.split('\n').slice(-10).join('\n')}` : ''}`;
}

function describeRun(rec: RunRecord) {
  const f = rec.facts;
  return {
    id: rec.id,
    rollout: rec.rollout,
    service: rec.service,
    label: rec.label,
    command: f?.command,
    startedAtMs: rec.startedAt,
    durationMs: rec.endedAt ? rec.endedAt - rec.startedAt : undefined,
    code: f?.code,
    signal: f?.signal,
    status: f?.outputs.status,
    percent: f?.outputs.percent,
    revision: f?.outputs.revision,
    interrupt: rec.interrupt,
    sent: f?.sent,
    apiDegraded: f?.apiDegraded,
    findings: rec.findings,
    log: rec.facts ? logTail(rec, 40) : undefined,
  };
}

export function buildReport(r: SoakResult, opts: { seed: number; rollouts: number; concurrency: number }) {
  const { ctx } = r;
  const runs = ctx.runs.filter((x) => x.facts);
  const requests = ctx.h.emulator.api.requests.filter((q) => isRunUser(q.user));
  const signals = runs.flatMap((x) => x.facts.sent);
  const byId = new Map(ctx.runs.map((x) => [x.id, x]));
  const withLogs = (v: Violation) => ({
    ...v,
    logs: v.runs.map((id) => {
      const rec = byId.get(id);
      return rec ? { run: id, label: rec.label, tail: logTail(rec) } : { run: id, label: '?', tail: '' };
    }),
  });
  return {
    seed: opts.seed,
    planned: opts.rollouts,
    concurrency: opts.concurrency,
    durationMs: r.durationMs,
    rollouts: {
      run: r.results.length,
      skipped: r.skipped.length,
      byKind: count(r.results, (x) => x.kind),
      byOutcome: count(r.results, (x) => x.outcome),
      byKindAndOutcome: count(r.results, (x) => `${x.kind} → ${x.outcome}`),
      byMode: count(r.results, (x) => x.mode),
    },
    runs: {
      total: runs.length,
      byLabel: count(runs, (x) => x.label.replace(/ \d+\.\d+$/, '')),
      byStatus: count(runs, (x) => (killed(x.facts) ? 'killed' : x.facts.outputs.status || '(none)')),
      cancelled: runs.filter((x) => cancelled(x.facts)).length,
      interrupts: count(
        runs.filter((x) => x.interrupt),
        (x) =>
          `${x.interrupt!.kind}${x.interrupt!.during ? `+${x.interrupt!.during}` : ''}@${x.interrupt!.on}` +
          (x.facts.sent.some((s) => s.planned) ? '' : ' (not reached)'),
      ),
      neededSigterm: signals.filter((s) => s.signal === 'SIGTERM').length,
      killedPlanned: signals.filter((s) => s.signal === 'SIGKILL' && s.planned).length,
      killedAfterCancel: runs.filter((x) => x.facts.sent.some((s) => s.signal === 'SIGKILL' && !s.planned))
        .length,
    },
    api: {
      calls: requests.length,
      byMethod: count(requests, (q) => q.method),
      byStatus: count(requests, (q) => String(q.status ?? 'no answer')),
      faultsInjected: Object.fromEntries(ctx.faults.injected),
      faultsTotal: ctx.faults.total(),
      watcher: { events: ctx.watcher.events, reconnects: ctx.watcher.reconnects, gaps: ctx.watcher.gaps },
    },
    errors: r.errors,
    violations: ctx.violations.map(withLogs),
    notes: ctx.notes.map(withLogs),
    allRuns: ctx.runs.map(describeRun),
  };
}

export type SoakReport = ReturnType<typeof buildReport>;

const table = (o: Record<string, number>): string =>
  Object.entries(o)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `    ${k.padEnd(34)} ${v}`)
    .join('\n');

function violationText(v: SoakReport['violations'][number]): string {
  const lines = [
    `✘ ${v.kind} (seed ${v.seed}, rollout #${v.rollout}, ${v.service}, +${(v.atMs / 1000).toFixed(1)}s): ${v.message}`,
  ];
  if (v.version) lines.push(`  version: ${v.version}`);
  lines.push('  timeline:', ...v.timeline.slice(-12).map((l) => `    ${l}`));
  for (const l of v.logs)
    lines.push(
      `  log of run ${l.run} (${l.label}), tail:`,
      ...l.tail
        .split('\n')
        .slice(-15)
        .map((x) => `    | ${x}`),
    );
  return lines.join('\n');
}

export function summaryText(rep: SoakReport, ctx: SoakContext): string {
  void ctx;
  const out = [
    `soak seed ${rep.seed}: ${rep.rollouts.run} rollouts (${rep.rollouts.skipped} skipped for the budget) on ${rep.concurrency} Services in ${(rep.durationMs / 1000).toFixed(1)}s`,
    `  rollouts by candidate kind and outcome:`,
    table(rep.rollouts.byKindAndOutcome),
    `  rollouts by mode: ${JSON.stringify(rep.rollouts.byMode)}`,
    `  runs: ${rep.runs.total} ${JSON.stringify(rep.runs.byLabel)}; by status ${JSON.stringify(rep.runs.byStatus)}`,
    `  interrupts planned:`,
    table(rep.runs.interrupts),
    `  cancels: ${rep.runs.cancelled} (SIGTERM needed ${rep.runs.neededSigterm}, SIGKILL after cancel ${rep.runs.killedAfterCancel}); planned kills: ${rep.runs.killedPlanned}`,
    `  API calls by the action: ${rep.api.calls} ${JSON.stringify(rep.api.byMethod)}; answers ${JSON.stringify(rep.api.byStatus)}`,
    `  faults injected: ${rep.api.faultsTotal} ${JSON.stringify(rep.api.faultsInjected)}`,
    `  watcher: ${rep.api.watcher.events} events, ${rep.api.watcher.reconnects} reconnects, ${rep.api.watcher.gaps} gaps`,
  ];
  if (rep.errors.length)
    out.push(
      `  soak errors: ${rep.errors.length}`,
      ...rep.errors.map((e) => `    #${e.rollout}: ${e.message}`),
    );
  out.push(`  notes (not failing the soak): ${rep.notes.length}`);
  if (rep.notes.length) {
    out.push(table(count(rep.notes as Violation[], (v) => v.kind)));
    for (const v of rep.notes)
      out.push(`    #${v.rollout} ${v.service} ${v.kind}: ${v.message} (runs ${v.runs.join(', ')})`);
  }
  out.push(`  violations: ${rep.violations.length}`);
  if (rep.violations.length) {
    out.push(table(count(rep.violations as Violation[], (v) => v.kind)));
    for (const v of rep.violations) out.push('', violationText(v));
  }
  return out.join('\n');
}
