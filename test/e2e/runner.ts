// Runs the built action (dist/index.js) as a separate process, the way the GitHub runner does: inputs as
// INPUT_* variables with action.yml's defaults filled in, and GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and
// GITHUB_EVENT_PATH files.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expect } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
export const DIST = join(root, 'dist/index.js');

interface ActionYml {
  inputs: Record<string, { default?: string; required?: boolean }>;
}
const actionYml = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as ActionYml;

/** A real `push` payload from @octokit/webhooks-examples. */
export function pushPayload(): { after: string; ref: string; repository: { full_name: string } } {
  const require = createRequire(import.meta.url);
  const all = require('@octokit/webhooks-examples') as { name: string; examples: unknown[] }[];
  return all.find((e) => e.name === 'push')!.examples[0] as never;
}

export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const [, name, delim] = m;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const eq = lines[i]!.indexOf('=');
      out[lines[i]!.slice(0, eq)] = lines[i]!.slice(eq + 1);
    }
  }
  return out;
}

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

export interface ActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
}

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
}

export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(actionYml.inputs)) {
    if (spec.default !== undefined) env[`INPUT_${name.toUpperCase()}`] = spec.default;
  }
  for (const [name, value] of Object.entries(inputs)) {
    if (!(name in actionYml.inputs))
      throw new Error(`test uses input "${name}" that action.yml does not declare`);
    env[`INPUT_${name.toUpperCase()}`] = value;
  }
  return env;
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

export function runAction(opts: RunActionOptions): Promise<ActionResult> {
  const dir = mkdtempSync(join(tmpdir(), 'action-run-'));
  const outputPath = join(dir, 'output');
  const summaryPath = join(dir, 'summary');
  const eventPath = join(dir, 'event.json');
  const payload = pushPayload();
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');
  writeFileSync(eventPath, JSON.stringify(opts.event?.payload ?? payload));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_EVENT_NAME: opts.event?.name ?? 'push',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_SHA: payload.after,
    GITHUB_REF: payload.ref,
    GITHUB_REPOSITORY: payload.repository.full_name,
    GITHUB_RUN_ID: '1001',
    GITHUB_SERVER_URL: 'https://github.com',
    ...inputEnv(opts.inputs),
    ...(opts.env ?? {}),
  };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let cancelled = false;
    const after: NodeJS.Timeout[] = [];
    /** What the GitHub runner does on cancel: SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that. */
    const runnerCancel = () => {
      if (cancelled) return;
      cancelled = true;
      opts.onCancel?.();
      if (opts.kill) return void child.kill('SIGKILL');
      child.kill('SIGINT');
      after.push(setTimeout(() => child.kill('SIGTERM'), 7_500));
      after.push(setTimeout(() => child.kill('SIGKILL'), 10_000));
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.cancelOn && stdout.includes(opts.cancelOn)) runnerCancel();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.cancelAfterMs) after.push(setTimeout(runnerCancel, opts.cancelAfterMs));
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      after.forEach(clearTimeout);
      clearTimeout(kill);
      keepLog(stdout, readFileSync(outputPath, 'utf8'), readFileSync(summaryPath, 'utf8'));
      resolve({
        code,
        signal,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(outputPath, 'utf8')),
        summary: readFileSync(summaryPath, 'utf8'),
        durationMs: performance.now() - started,
      });
    });
  });
}
