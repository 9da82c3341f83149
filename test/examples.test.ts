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
