// The Role in examples/rbac.yaml is enough: every API request the action makes, in every command, maps to a verb
// and resource the Role grants.

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { afterAll, expect, it } from 'vitest';
import { fixture, type Fixture } from './fixture.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const role = parseAllDocuments(readFileSync(new URL('../../examples/rbac.yaml', import.meta.url), 'utf8'))
  .map((d) => d.toJS() as { kind: string; rules?: Rule[] })
  .find((d) => d.kind === 'Role')!;

/** The verb and resource the API server authorizes a request as (Kubernetes' request-info rules). */
function authorize(method: string, url: string): { group: string; resource: string; verb: string } {
  const u = new URL(url, 'http://x');
  const m = /^\/apis\/([^/]+)\/v1\/namespaces\/[^/]+\/([^/]+)(?:\/([^/]+))?$/.exec(u.pathname);
  if (!m) throw new Error(`request outside a namespaced resource: ${method} ${url}`);
  const [, group, resource, name] = m;
  const verb =
    method === 'GET'
      ? u.searchParams.get('watch') === 'true'
        ? 'watch'
        : name
          ? 'get'
          : 'list'
      : { PATCH: 'patch', PUT: 'update', POST: 'create', DELETE: 'delete' }[method]!;
  return { group: group!, resource: resource!, verb };
}

let f: Fixture;
afterAll(() => f?.close());

it('every request of deploy, rollback, status, dry-run, pause, resume and advance is allowed by examples/rbac.yaml', async () => {
  f = await fixture({ revisionName: 'hello-v1' });
  const runs: Record<string, string>[] = [
    { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '50' },
    { command: 'rollback', 'revision-name': 'hello-v1' },
    { command: 'status' },
    { image: 'ghcr.io/example/hello:v3', 'revision-name': 'hello-v3', 'dry-run': 'true' },
    // A scheduled rollout, paused, resumed, and advanced by a run that finds it by its annotation (a list).
    {
      image: 'ghcr.io/example/hello:v4',
      'revision-name': 'hello-v4',
      progression: 'scheduled',
      steps: '50:100ms',
    },
    { command: 'pause' },
    { command: 'resume' },
    { command: 'advance', service: '', 'min-interval': '1s' },
    {
      image: 'ghcr.io/example/hello:v3',
      'revision-name': 'hello-v3',
      env: 'EMULATOR_NEVER_READY=1',
      timeout: '1s',
    },
  ];
  for (const inputs of runs) await f.run(inputs);
  const used = new Set<string>();
  for (const r of f.h.emulator.api.requests) {
    const a = authorize(r.method, r.url);
    used.add(`${a.verb} ${a.resource}`);
    const allowed = role.rules!.some(
      (rule) =>
        rule.apiGroups.includes(a.group) &&
        rule.resources.includes(a.resource) &&
        rule.verbs.includes(a.verb),
    );
    expect(allowed, `${r.method} ${r.url} needs ${a.verb} on ${a.resource}`).toBe(true);
  }
  // The Role grants nothing the action never uses.
  expect([...used].sort()).toEqual([
    'get revisions',
    'get services',
    'list services',
    'patch services',
    'watch services',
  ]);
  expect(await f.percents()).toEqual({ 'hello-v4': 100 });
});
