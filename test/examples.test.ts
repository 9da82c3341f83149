// The example workflows users copy: every input they give exists, and the YAML inputs parse as the action would.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseInputs } from '../src/inputs.ts';

const declared = parse(readFileSync('action.yml', 'utf8')) as {
  inputs: Record<string, { default?: string }>;
};
const workflows = readdirSync('examples').filter((f) => f.endsWith('.yml'));

interface Step {
  uses?: string;
  with?: Record<string, string>;
}

const actionSteps = (file: string): Step[] => {
  const wf = parse(readFileSync(`examples/${file}`, 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
  return Object.values(wf.jobs)
    .flatMap((j) => j.steps ?? [])
    .filter((s) => s.uses?.startsWith('knative-canary-action/'));
};

/** `${{ ... }}` expressions stand for values the runner fills in: plausible ones for each input. */
const SAMPLE: Record<string, string> = {
  command: 'rollback',
  'revision-name': '',
  kubeconfig: '',
  percent: '',
};
const filled = (input: string, v: unknown) =>
  String(v).replace(/\$\{\{[^}]*\}\}/g, (e) =>
    input in SAMPLE ? SAMPLE[input]! : /url|gateway/i.test(e) ? 'http://example.com' : 'x1',
  );

describe.each(workflows)('examples/%s', (file) => {
  it('uses the action with declared inputs only, which parse', () => {
    const steps = actionSteps(file);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      const given = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, filled(k, v)]));
      for (const k of Object.keys(given)) expect(Object.keys(declared.inputs)).toContain(k);
      const get = (name: string) => given[name] ?? declared.inputs[name]?.default ?? '';
      expect(() => parseInputs(get, { sha: 'abcdef1234567890abcdef1234567890abcdef12' })).not.toThrow();
    }
  });
});

// The rules of issue 15: examples that cannot drop a run, nor record it twice.

interface Job {
  if?: string;
  environment?: unknown;
  permissions?: Record<string, string> | string;
  steps?: (Step & { id?: string; if?: string; run?: string })[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean; queue?: string };
  jobs: Record<string, Job>;
}
const workflow = (file: string) => parse(readFileSync(`examples/${file}`, 'utf8')) as Workflow;
const isAction = (s: Step) => s.uses?.startsWith('knative-canary-action/') ?? false;

/** Can this workflow run `/canary deploy`? Comment commands come as `issue_comment` events. */
const canCommentDeploy = (wf: Workflow) => 'issue_comment' in wf.on;

describe.each(workflows)('examples/%s follows the rules', (file) => {
  const wf = workflow(file);

  it('shares the Service group, never cancels, and queues every waiting run (`queue: max`)', () => {
    expect(wf.concurrency).toEqual({ group: 'knative-hello', 'cancel-in-progress': false, queue: 'max' });
    for (const job of Object.values(wf.jobs)) expect(job).not.toHaveProperty('concurrency');
  });

  it('has no always() in any `if:` (a cancelled run must not go on)', () => {
    const ifs = Object.values(wf.jobs).flatMap((j) => [j.if, ...(j.steps ?? []).map((s) => s.if)]);
    for (const cond of ifs) if (cond !== undefined) expect(String(cond)).not.toMatch(/\balways\s*\(/);
  });

  it('records one GitHub Deployment per run: no job `environment:` beside the action input `environment`', () => {
    for (const job of Object.values(wf.jobs)) {
      const input = (job.steps ?? []).some((s) => isAction(s) && s.with?.environment);
      if (input) expect(job.environment).toBeUndefined();
    }
  });

  it('derives every image from the lowercased repository', () => {
    const text = readFileSync(`examples/${file}`, 'utf8');
    expect(text).not.toMatch(/ghcr\.io\/\$\{\{\s*github\.repository/);
    for (const job of Object.values(wf.jobs)) {
      const steps = job.steps ?? [];
      const refs = steps.flatMap((s) => [s.with?.image, s.with?.tags]).filter((v) => v !== undefined);
      if (refs.length === 0) continue;
      const image = steps.find((s) => s.id === 'image');
      expect(image?.run).toContain('name=ghcr.io/${GITHUB_REPOSITORY,,}');
      expect(image?.run).toContain('>> "$GITHUB_OUTPUT"');
      expect(image).toHaveProperty('shell', 'bash');
      for (const ref of refs) expect(String(ref)).toMatch(/^\$\{\{ steps\.image\.outputs\.name \}\}:/);
      // The step that computes the name comes before the steps that use it.
      const first = steps.findIndex((s) => s.with?.image !== undefined || s.with?.tags !== undefined);
      expect(steps.indexOf(image!)).toBeLessThan(first);
    }
  });

  it('lets a job that can run `/canary deploy` read contents (the deploy reads the head commit)', () => {
    if (!canCommentDeploy(wf)) return;
    for (const job of Object.values(wf.jobs)) {
      if (!(job.steps ?? []).some(isAction)) continue;
      const perms = job.permissions ?? wf.permissions;
      expect(perms).toBeTypeOf('object');
      expect(['read', 'write']).toContain((perms as Record<string, string>).contents);
    }
  });
});

it('some example can run `/canary deploy`, so the rule above is exercised', () => {
  expect(workflows.some((f) => canCommentDeploy(workflow(f)))).toBe(true);
});
