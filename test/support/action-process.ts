// The built action (dist/index.js) as the GitHub runner starts it: inputs as INPUT_* variables with action.yml's
// defaults filled in, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH files, and the process itself, whose
// signals the caller sends. Shared by the e2e tests (test/e2e/runner.ts) and the soak (test/soak/).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

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

/** INPUT_* variables: action.yml's defaults, then `inputs`; an input action.yml does not declare is an error. */
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

export interface ActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** The GITHUB_OUTPUT file as written. */
  outputText: string;
  summary: string;
  durationMs: number;
  /** performance.now() when the process exited. */
  exitedAt: number;
}

export interface StartActionOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** The event: its name and payload (default: a push, from @octokit/webhooks-examples). */
  event?: { name: string; payload: unknown };
  /** Called with each chunk of stdout as it arrives. */
  onStdout?: (chunk: string, all: string) => void;
  /** A command that starts node in its turn (`exec "$@"`), such as `unshare` for a mount namespace of its own. */
  wrap?: string[];
}

export interface ActionProcess {
  child: ChildProcess;
  /** stdout so far. */
  stdout(): string;
  /** Resolves once the process has exited and its files are read. */
  result: Promise<ActionResult>;
}

/** Starts dist/index.js with the runner's environment; the caller sends signals through `child`. */
export function startAction(opts: StartActionOptions): ActionProcess {
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
  const [command, ...args] = [...(opts.wrap ?? []), process.execPath, DIST];
  const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    const chunk = d.toString();
    stdout += chunk;
    opts.onStdout?.(chunk, stdout);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<ActionResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const exitedAt = performance.now();
      const outputText = readFileSync(outputPath, 'utf8');
      const summary = readFileSync(summaryPath, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      resolve({
        code,
        signal,
        stdout,
        stderr,
        outputs: parseOutputFile(outputText),
        outputText,
        summary,
        durationMs: exitedAt - started,
        exitedAt,
      });
    });
  });
  return { child, stdout: () => stdout, result };
}
