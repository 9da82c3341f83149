// Runs the built action (dist/index.js) as a separate process, the way the GitHub runner does: inputs as
// INPUT_* variables with action.yml's defaults filled in, and GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and
// GITHUB_EVENT_PATH files.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startAction, type ActionResult } from '../support/action-process.ts';

export {
  DIST,
  inputEnv,
  parseOutputFile,
  pushPayload,
  type ActionResult,
} from '../support/action-process.ts';

/** The runner's reading of `::error::` lines: escapes (%25, %0A, %0D) undone, the command prefix kept. */
const commandLines = (stdout: string, command: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith(`::${command}`))
    .map((l) => l.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));

/** `::error::` lines, unescaped. */
export const errorLines = (stdout: string): string[] => commandLines(stdout, 'error');
/** `::warning::` lines, unescaped. */
export const warningLines = (stdout: string): string[] => commandLines(stdout, 'warning');

export interface RunActionOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Sends SIGINT after this many ms, as the runner does on cancellation. */
  cancelAfterMs?: number;
  /** Sends SIGINT when stdout first contains this text. */
  cancelOn?: string;
  /** With cancelOn: SIGKILL instead, as when the runner machine is lost. */
  kill?: boolean;
  /** Called just before the cancel's SIGINT is sent (to change the cluster's behaviour at that moment). */
  onCancel?: () => void;
  timeoutMs?: number;
  /** The event: its name and payload (default: a push, from @octokit/webhooks-examples). */
  event?: { name: string; payload: unknown };
  /** A command that starts node in its turn (see startAction). */
  wrap?: string[];
}

const runsByTest = new Map<string, number>();

/**
 * With E2E_LOG_DIR set, each run's log, outputs and summary are kept there, one file per run named after its test:
 * what a refactoring must leave unchanged can then be compared run by run (scripts/compare-e2e-logs.ts).
 */
function keepLog(stdout: string, outputs: string, summary: string): void {
  const dir = process.env.E2E_LOG_DIR;
  if (!dir) return;
  const test =
    (expect.getState().testPath ?? '').split('/').pop() + ' ' + (expect.getState().currentTestName ?? '');
  const n = (runsByTest.get(test) ?? 0) + 1;
  runsByTest.set(test, n);
  mkdirSync(dir, { recursive: true });
  const name = `${test} #${n}`.replace(/[^\w.#-]+/g, '_').slice(0, 200);
  writeFileSync(join(dir, `${name}.log`), `${stdout}\n--- outputs\n${outputs}\n--- summary\n${summary}`);
}

/** With a cancel: how long after the runner's SIGINT (or SIGKILL) the process exited. */
export type RunResult = ActionResult & { cancelToExitMs?: number };

export function runAction(opts: RunActionOptions): Promise<RunResult> {
  let cancelled = false;
  let cancelledAt: number | undefined;
  const after: NodeJS.Timeout[] = [];
  /** What the GitHub runner does on cancel: SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that. */
  const runnerCancel = () => {
    if (cancelled) return;
    cancelled = true;
    opts.onCancel?.();
    cancelledAt = performance.now();
    if (opts.kill) return void p.child.kill('SIGKILL');
    p.child.kill('SIGINT');
    after.push(setTimeout(() => p.child.kill('SIGTERM'), 7_500));
    after.push(setTimeout(() => p.child.kill('SIGKILL'), 10_000));
  };
  const p = startAction({
    inputs: opts.inputs,
    env: opts.env,
    event: opts.event,
    wrap: opts.wrap,
    onStdout: (_chunk, stdout) => {
      if (opts.cancelOn && stdout.includes(opts.cancelOn)) runnerCancel();
    },
  });
  if (opts.cancelAfterMs) after.push(setTimeout(runnerCancel, opts.cancelAfterMs));
  const kill = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return p.result.then((r) => {
    after.forEach(clearTimeout);
    clearTimeout(kill);
    keepLog(r.stdout, r.outputText, r.summary);
    return cancelledAt === undefined ? r : { ...r, cancelToExitMs: r.exitedAt - cancelledAt };
  });
}
