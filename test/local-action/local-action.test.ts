// The action under @github/local-action: its CLI loads src/main.ts with tsx, stubs @actions/core and
// @actions/github, reads the inputs from a dotenv file, and runs the exported run() against the emulator.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, type Fixture } from '../e2e/fixture.ts';

const root = new URL('../../', import.meta.url).pathname;
const CLI = join(root, 'node_modules/@github/local-action/bin/local-action.js');

/**
 * One dotenv line. Values are double-quoted, where dotenv turns `\n` back into a newline (how the multi-line
 * kubeconfig gets through); it undoes no other escape, so a quote or backslash could not be written faithfully.
 */
function dotenvLine(key: string, value: string): string {
  if (/["\\]/.test(value)) throw new Error(`${key}: a dotenv value here cannot hold " or \\`);
  return `${key}="${value.replace(/\r?\n/g, '\\n')}"`;
}

interface LocalActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs `local-action run <root> src/main.ts <dotenv>` with this Node (24), and waits for it. */
function localAction(dotenv: string, timeoutMs = 60_000): Promise<LocalActionResult> {
  // Nothing of a surrounding workflow's step leaks in: the dotenv file is the whole GitHub environment.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(k) && k !== 'FORCE_COLOR') env[k] = v;
  }
  // The CLI shells out to `npm exec tsx` and `npm ls`; both must find this Node and the local tsx first.
  env.PATH = [dirname(process.execPath), join(root, 'node_modules/.bin'), process.env.PATH].join(delimiter);
  env.NO_COLOR = '1';
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', root, 'src/main.ts', dotenv], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the CLI runs npm, which runs tsx, which runs Node; a timeout kills them all.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({
        code,
        signal,
        stdout: stripVTControlCharacters(stdout),
        stderr: stripVTControlCharacters(stderr),
        durationMs: performance.now() - started,
      });
    });
  });
}

let f: Fixture | undefined;
let dir: string | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('@github/local-action', () => {
  it(
    'runs src/main.ts from a dotenv file and rolls the new revision out to 100%',
    { timeout: 90_000 },
    async () => {
      f = await fixture();
      dir = mkdtempSync(join(tmpdir(), 'local-action-'));
      const summary = join(dir, 'summary.md');
      const dotenv = join(dir, '.env');
      const vars: Record<string, string> = {
        INPUT_SERVICE: 'hello',
        INPUT_IMAGE: 'ghcr.io/example/hello:v2',
        'INPUT_REVISION-NAME': 'hello-v2',
        INPUT_STEPS: '50',
        INPUT_INTERVAL: '600ms',
        INPUT_TIMEOUT: '10s',
        'INPUT_PROBE-RPS': '20',
        // No INPUT_STABLE-TAG: action.yml's default (`stable`) comes through local-action's core.getInput stub.
        INPUT_GATEWAY: f.h.emulator.gatewayUrl,
        INPUT_KUBECONFIG: f.h.emulator.kubeconfig(),
        GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
        GITHUB_REPOSITORY: 'example/hello',
        GITHUB_RUN_ID: '1001',
        GITHUB_STEP_SUMMARY: summary,
      };
      writeFileSync(
        dotenv,
        Object.entries(vars)
          .map(([k, v]) => dotenvLine(k, v))
          .join('\n') + '\n',
      );

      const r = await localAction(dotenv);
      const log = `${r.stdout}\n${r.stderr}`;
      // local-action's setFailed stub only records the failure: the exit code stays 0, so look for ::error:: too.
      expect(r.code, log).toBe(0);
      expect(r.stdout, log).not.toContain('::error::');
      expect(r.stdout).toContain('Running Action');
      // Its setOutput stub logs `::set-output` lines, then tables the outputs at the end.
      expect(r.stdout).toContain('::set-output name=status::promoted');
      expect(r.stdout).toContain('::set-output name=revision::hello-v2');
      expect(r.stdout).toContain('::set-output name=stable-revision::hello-v2');
      // action.yml's default stable-tag reached the action: the stable revision was probed on its own URL.
      expect(r.stdout).toContain('and http://stable-hello.default.example.com');
      expect(r.stdout).toContain('::set-output name=percent::100');
      expect(r.stdout).toContain('::set-output name=url::http://hello.default.example.com');
      const outputs = r.stdout.slice(r.stdout.indexOf('Action Outputs'));
      expect(outputs).toMatch(/│ 'status'\s+│ 'promoted'/);
      expect(r.stdout).toMatch(/Traffic: hello-00001 50%, hello-v2 50%/);
      // The kubeconfig's token was registered as a secret, and shows nowhere.
      expect(log).not.toContain(f.h.emulator.token);

      expect(await f.percents()).toEqual({ 'hello-v2': 100 });
      const state = await f.state();
      expect(state?.phase).toBe('promoted');
      expect(state?.history.map((d) => d.action)).toEqual(['deploy', 'smoke', 'step', 'hold', 'promote']);
      expect(f.writes().every((w) => w.method === 'PATCH')).toBe(true);
      // core.summary is stubbed too, and writes to GITHUB_STEP_SUMMARY from the dotenv file.
      expect(readFileSync(summary, 'utf8')).toContain('## 🚀 Promoted: `default/hello`');
    },
  );
});
