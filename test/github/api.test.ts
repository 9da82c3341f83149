// The GitHub client: its time limit (a GitHub that does not answer never holds a run), and how it reads
// GitHub's answers (roles, forks) and what it sends for Deployments.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubError } from '../../src/errors.ts';
import { GitHub } from '../../src/github/api.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/github.ts';

let silent: Server;
let url: string;
beforeAll(async () => {
  // Takes every request and never answers.
  silent = createServer((req) => req.resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(() => {
  silent.closeAllConnections();
  silent.close();
});

it('gives up on a request after its time limit, with an error naming the call', async () => {
  const gh = new GitHub('t0ken', { owner: 'o', repo: 'r' }, url, 300);
  const began = Date.now();
  const e = await gh.comment(7, 'hi').catch((x: unknown) => x);
  expect(e).toBeInstanceOf(GitHubError);
  expect((e as Error).message).toMatch(/^GitHub API comment: /);
  expect((e as Error).message).not.toContain('t0ken');
  expect(Date.now() - began).toBeLessThan(3000);
});

describe('against the fake GitHub', () => {
  let fake: FakeGitHub;
  let gh: GitHub;
  beforeEach(async () => {
    fake = await startFakeGitHub();
    gh = new GitHub(fake.token, { owner: fake.owner, repo: fake.repo }, fake.url);
  });
  afterEach(() => fake.close());

  it.each([
    ['admin', 'admin'],
    ['write', 'write'],
    ['read', 'read'],
    ['none', 'none'],
  ] as const)(
    'maps a custom repository role to its legacy permission %s, as %s',
    async (permission, role) => {
      fake.customRoles.set('someone', { name: 'deployer', permission });
      expect(await gh.role('someone')).toBe(role);
    },
  );

  it('takes role_name when it is one of the five roles, and none for a stranger', async () => {
    fake.roles.set('m', 'maintain');
    fake.roles.set('t', 'triage');
    expect(await gh.role('m')).toBe('maintain');
    expect(await gh.role('t')).toBe('triage');
    expect(await gh.role('stranger')).toBe('none');
  });

  it('a pull request is a fork when its head is in another repository, or in one deleted', async () => {
    const sha = 'a'.repeat(40);
    // The repository is itself a fork: its own branches have head.repo.fork true, and are not a fork's.
    fake.pulls.set(1, { headSha: sha, fork: true });
    fake.pulls.set(2, { headSha: sha, headRepo: null });
    fake.pulls.set(3, { headSha: sha, headRepo: 'mallory/Hello-World' });
    fake.pulls.set(4, { headSha: sha, headRepo: `${fake.owner.toLowerCase()}/${fake.repo.toUpperCase()}` });
    expect(await gh.pull(1)).toMatchObject({ fork: false, headRepo: `${fake.owner}/${fake.repo}` });
    expect(await gh.pull(2)).toMatchObject({ fork: true, headRepo: '' });
    expect(await gh.pull(3)).toMatchObject({ fork: true, headRepo: 'mallory/Hello-World' });
    expect(await gh.pull(4)).toMatchObject({ fork: false });
  });

  it('a preview deployment is transient and not production; others leave production_environment to GitHub unless told', async () => {
    const base = { ref: 'main', environment: 'staging', description: 'd', payload: {} };
    await gh.createDeployment({ ...base, transient: true, production: true });
    await gh.createDeployment(base);
    await gh.createDeployment({ ...base, production: true });
    await gh.createDeployment({ ...base, production: false });
    const bodies = fake.requests.map((r) => r.body as Record<string, unknown>);
    expect(bodies.map((b) => [b.transient_environment, b.production_environment])).toEqual([
      [true, false],
      [false, undefined],
      [false, true],
      [false, false],
    ]);
    expect(bodies[1]).not.toHaveProperty('production_environment');
  });

  it('a deployment status description is cut to the 140 characters GitHub takes', async () => {
    const id = await gh.createDeployment({ ref: 'main', environment: 'e', description: 'd', payload: {} });
    await gh.deploymentStatus(id, { state: 'success', description: 'x'.repeat(200), logUrl: 'https://l' });
    expect(fake.statuses.map((s) => s.description?.length)).toEqual([140]);
  });
});
