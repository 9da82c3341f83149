// The fake GitHub REST API, reached with the same Octokit the action uses, and the event payload builders.

import { getOctokit } from '@actions/github';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  exampleRepo,
  issueCommentPayload,
  pushPayload,
  schedulePayload,
  workflowDispatchPayload,
} from './events.ts';
import { startFakeGitHub, type FakeGitHub, type Role } from './github.ts';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

let gh: FakeGitHub;
let octokit: ReturnType<typeof getOctokit>;
let repo: { owner: string; repo: string };

beforeEach(async () => {
  gh = await startFakeGitHub();
  octokit = getOctokit(gh.token, { baseUrl: gh.url });
  repo = { owner: gh.owner, repo: gh.repo };
});

afterEach(async () => {
  await gh.close();
});

/** The status of a request that Octokit throws for. */
async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return (e as { status: number }).status;
  }
  throw new Error('the request succeeded');
}

describe('fake GitHub', () => {
  it('listens on 127.0.0.1 with no trailing slash and uses the example repository', () => {
    expect(gh.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(gh.token).toBe('ghs_fake_token');
    expect({ owner: gh.owner, repo: gh.repo }).toEqual({
      owner: exampleRepo().owner,
      repo: exampleRepo().repo,
    });
  });

  it.each<[Role, string]>([
    ['admin', 'admin'],
    ['maintain', 'write'],
    ['write', 'write'],
    ['triage', 'read'],
    ['read', 'read'],
    ['none', 'none'],
  ])('reports role %s with legacy permission %s', async (role, permission) => {
    gh.roles.set('someone', role);
    const { status: code, data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      ...repo,
      username: 'someone',
    });
    expect(code).toBe(200);
    expect(data).toEqual({ permission, role_name: role, user: { login: 'someone' } });
  });

  it('reports a custom repository role by its name, with the legacy permission it inherits', async () => {
    gh.customRoles.set('someone', { name: 'deployer', permission: 'write' });
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      ...repo,
      username: 'someone',
    });
    expect(data).toEqual({ permission: 'write', role_name: 'deployer', user: { login: 'someone' } });
  });

  it('answers 404 for a user who is not a collaborator', async () => {
    expect(
      await status(octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'stranger' })),
    ).toBe(404);
    expect(gh.requests.at(-1)!.path).toBe(`/repos/${gh.owner}/${gh.repo}/collaborators/stranger/permission`);
  });

  it('answers 401 Bad credentials to a wrong or missing token, and records the request', async () => {
    const wrong = getOctokit('ghs_wrong', { baseUrl: gh.url });
    gh.roles.set('someone', 'admin');
    let err: { status: number; response: { data: unknown } } | undefined;
    try {
      await wrong.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'someone' });
    } catch (e) {
      err = e as never;
    }
    expect(err?.status).toBe(401);
    expect(err?.response.data).toEqual({ message: 'Bad credentials' });
    const res = await fetch(`${gh.url}/repos/${gh.owner}/${gh.repo}/pulls/1`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(gh.requests).toHaveLength(2);
    expect(gh.requests[0]!.headers.authorization).toBe('token ghs_wrong');
  });

  it('accepts a Bearer token and a token given to startFakeGitHub', async () => {
    const other = await startFakeGitHub({ token: 'ghs_other' });
    try {
      other.roles.set('someone', 'read');
      const res = await fetch(
        `${other.url}/repos/${other.owner}/${other.repo}/collaborators/someone/permission`,
        { headers: { authorization: 'Bearer ghs_other' } },
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ role_name: 'read' });
    } finally {
      await other.close();
    }
  });

  it('records reactions and refuses an unknown content', async () => {
    const { status: code, data } = await octokit.rest.reactions.createForIssueComment({
      ...repo,
      comment_id: 4242,
      content: 'rocket',
    });
    expect(code).toBe(201);
    expect(data).toMatchObject({ content: 'rocket', user: { login: 'github-actions[bot]' } });
    expect(typeof data.id).toBe('number');
    expect(
      await status(
        octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: 4242, content: 'tada' as never }),
      ),
    ).toBe(422);
    expect(gh.reactions).toEqual([{ id: data.id, comment_id: 4242, content: 'rocket' }]);
    expect(gh.requests.at(-1)!.body).toEqual({ content: 'tada' });
  });

  it('answers 200 with the reaction already there for the same reaction again, as GitHub does', async () => {
    const first = await octokit.rest.reactions.createForIssueComment({
      ...repo,
      comment_id: 1,
      content: 'eyes',
    });
    const again = await octokit.rest.reactions.createForIssueComment({
      ...repo,
      comment_id: 1,
      content: 'eyes',
    });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.data.id).toBe(first.data.id);
    expect(first.data).toMatchObject({ node_id: expect.any(String), created_at: expect.any(String) });
    const other = await octokit.rest.reactions.createForIssueComment({
      ...repo,
      comment_id: 2,
      content: 'eyes',
    });
    expect(other.status).toBe(201);
    expect(gh.reactions.map((r) => r.comment_id)).toEqual([1, 2]);
  });

  it('creates and updates comments with their html_url, under /pull/ on a pull request and /issues/ on an issue', async () => {
    gh.pulls.set(7, { headSha: SHA });
    const onIssue = await octokit.rest.issues.createComment({ ...repo, issue_number: 8, body: 'x' });
    expect(onIssue.data.html_url).toBe(
      `https://github.com/${gh.owner}/${gh.repo}/issues/8#issuecomment-${onIssue.data.id}`,
    );
    gh.comments.length = 0;
    const { status: code, data } = await octokit.rest.issues.createComment({
      ...repo,
      issue_number: 7,
      body: 'Deploying',
    });
    expect(code).toBe(201);
    expect(data.html_url).toBe(`https://github.com/${gh.owner}/${gh.repo}/pull/7#issuecomment-${data.id}`);
    expect(data.user).toMatchObject({ login: 'github-actions[bot]', type: 'Bot' });
    const updated = await octokit.rest.issues.updateComment({ ...repo, comment_id: data.id, body: 'Done' });
    expect(updated.status).toBe(200);
    expect(updated.data).toMatchObject({ id: data.id, body: 'Done', html_url: data.html_url });
    expect(gh.comments).toEqual([
      {
        id: data.id,
        issue_number: 7,
        body: 'Done',
        html_url: data.html_url,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
    expect(await status(octokit.rest.issues.updateComment({ ...repo, comment_id: 999999, body: 'x' }))).toBe(
      404,
    );
  });

  it('serves pull requests with defaults for the head repository', async () => {
    gh.pulls.set(7, { headSha: SHA });
    gh.pulls.set(8, {
      headSha: SHA,
      headRef: 'patch-1',
      headRepo: 'forker/Hello-World',
      fork: true,
      state: 'closed',
    });
    const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: 7 });
    expect(data).toMatchObject({
      number: 7,
      state: 'open',
      head: { sha: SHA, repo: { full_name: `${gh.owner}/${gh.repo}`, fork: false } },
      base: { ref: 'main', repo: { full_name: `${gh.owner}/${gh.repo}` } },
    });
    const fork = await octokit.rest.pulls.get({ ...repo, pull_number: 8 });
    expect(fork.data).toMatchObject({
      state: 'closed',
      head: { ref: 'patch-1', repo: { full_name: 'forker/Hello-World', fork: true } },
    });
    expect(await status(octokit.rest.pulls.get({ ...repo, pull_number: 9 }))).toBe(404);
  });

  it('serves a deleted head repository as null, and a same-repository head in a fork with fork: true', async () => {
    gh.pulls.set(7, { headSha: SHA, headRepo: null });
    gh.pulls.set(8, { headSha: SHA, fork: true });
    gh.pulls.set(9, { headSha: SHA, headRepo: 'forker/Hello-World' });
    expect((await octokit.rest.pulls.get({ ...repo, pull_number: 7 })).data.head.repo).toBeNull();
    expect((await octokit.rest.pulls.get({ ...repo, pull_number: 8 })).data.head.repo).toEqual({
      full_name: `${gh.owner}/${gh.repo}`,
      fork: true,
    });
    expect((await octokit.rest.pulls.get({ ...repo, pull_number: 9 })).data.head.repo).toEqual({
      full_name: 'forker/Hello-World',
      fork: true,
    });
  });

  it('serves commits and answers 422 for an unknown one', async () => {
    gh.commits.set(SHA, { committerDate: '2026-11-28T09:30:00Z', authorDate: '2026-11-28T09:00:00Z' });
    const { data } = await octokit.rest.repos.getCommit({ ...repo, ref: SHA });
    expect(data).toEqual({
      sha: SHA,
      commit: { author: { date: '2026-11-28T09:00:00Z' }, committer: { date: '2026-11-28T09:30:00Z' } },
    });
    let err: { status: number; message: string } | undefined;
    try {
      await octokit.rest.repos.getCommit({ ...repo, ref: 'f'.repeat(40) });
    } catch (e) {
      err = e as never;
    }
    expect(err?.status).toBe(422);
    expect(err?.message).toContain(`No commit found for SHA: ${'f'.repeat(40)}`);
  });

  it('records deployments and their statuses in order, and lists them newest first', async () => {
    const first = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: SHA,
      environment: 'canary',
      description: 'canary of rev-2',
      payload: { revision: 'rev-2' },
      auto_merge: false,
      required_contexts: [],
      transient_environment: true,
      production_environment: false,
    });
    expect(first.status).toBe(201);
    const d = first.data as { id: number; sha: string; ref: string; environment: string; url: string };
    expect(d).toMatchObject({ id: 1001, sha: SHA, ref: SHA, environment: 'canary' });
    expect(d.url).toBe(`${gh.url}/repos/${gh.owner}/${gh.repo}/deployments/1001`);
    // The fields GitHub's description requires of a deployment.
    expect(first.data).toMatchObject({
      node_id: expect.any(String),
      task: 'deploy',
      original_environment: 'canary',
      creator: { login: 'github-actions[bot]', type: 'Bot' },
      created_at: expect.any(String),
      updated_at: expect.any(String),
      statuses_url: `${d.url}/statuses`,
      repository_url: `${gh.url}/repos/${gh.owner}/${gh.repo}`,
      transient_environment: true,
      production_environment: false,
    });
    const second = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: 'main',
      environment: 'production',
    });
    // Unset, production_environment is GitHub's default: true for an environment named production only.
    expect(second.data).toMatchObject({
      id: 1002,
      sha: 'f'.repeat(40),
      ref: 'main',
      production_environment: true,
      transient_environment: false,
      payload: {},
    });
    const staging = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: 'main',
      environment: 'staging',
    });
    expect(staging.data).toMatchObject({ id: 1003, production_environment: false });
    gh.deployments.pop();

    const posted = [];
    for (const state of ['in_progress', 'success'] as const)
      posted.push(
        await octokit.rest.repos.createDeploymentStatus({
          ...repo,
          deployment_id: 1001,
          state,
          environment_url: 'https://canary.example.com',
          log_url: 'https://github.com/o/r/actions/runs/1',
          description: state,
          auto_inactive: false,
        }),
      );
    // The fields GitHub's description requires of a status; target_url mirrors log_url.
    expect(posted[0]!.status).toBe(201);
    expect(posted[0]!.data).toMatchObject({
      node_id: expect.any(String),
      state: 'in_progress',
      description: 'in_progress',
      environment: 'canary',
      creator: { login: 'github-actions[bot]' },
      url: `${d.url}/statuses/${posted[0]!.data.id}`,
      deployment_url: d.url,
      repository_url: `${gh.url}/repos/${gh.owner}/${gh.repo}`,
      target_url: 'https://github.com/o/r/actions/runs/1',
      log_url: 'https://github.com/o/r/actions/runs/1',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    // A description over 140 characters is refused.
    expect(
      await status(
        octokit.rest.repos.createDeploymentStatus({
          ...repo,
          deployment_id: 1001,
          state: 'success',
          description: 'x'.repeat(141),
        }),
      ),
    ).toBe(422);
    expect(
      await status(
        octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 1001, state: 'bogus' as never }),
      ),
    ).toBe(422);
    expect(
      await status(
        octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 5, state: 'success' }),
      ),
    ).toBe(404);

    expect(gh.deployments).toEqual([
      {
        id: 1001,
        ref: SHA,
        sha: SHA,
        environment: 'canary',
        description: 'canary of rev-2',
        payload: { revision: 'rev-2' },
        transient_environment: true,
        production_environment: false,
        auto_merge: false,
        required_contexts: [],
        created_at: expect.any(String),
      },
      expect.objectContaining({ id: 1002, environment: 'production' }),
    ]);
    expect(gh.statuses.map((s) => [s.deployment_id, s.state])).toEqual([
      [1001, 'in_progress'],
      [1001, 'success'],
    ]);
    expect(gh.statuses[0]).toMatchObject({
      environment_url: 'https://canary.example.com',
      log_url: 'https://github.com/o/r/actions/runs/1',
      auto_inactive: false,
    });

    const all = await octokit.rest.repos.listDeployments({ ...repo });
    expect(all.data.map((x) => x.id)).toEqual([1002, 1001]);
    const canary = await octokit.rest.repos.listDeployments({ ...repo, environment: 'canary', sha: SHA });
    expect(canary.data.map((x) => x.id)).toEqual([1001]);
    expect(
      (await octokit.rest.repos.listDeployments({ ...repo, ref: 'main' })).data.map((x) => x.id),
    ).toEqual([1002]);
    const statuses = await octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: 1001 });
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);

    const prefix = `/repos/${gh.owner}/${gh.repo}`;
    expect(gh.writes()).toEqual([
      `POST ${prefix}/deployments`,
      `POST ${prefix}/deployments`,
      `POST ${prefix}/deployments`,
      `POST ${prefix}/deployments/1001/statuses`,
      `POST ${prefix}/deployments/1001/statuses`,
      `POST ${prefix}/deployments/1001/statuses`,
      `POST ${prefix}/deployments/1001/statuses`,
      `POST ${prefix}/deployments/5/statuses`,
    ]);
    expect(gh.requests.find((r) => r.method === 'GET' && r.query.environment === 'canary')!.query).toEqual({
      environment: 'canary',
      sha: SHA,
    });
  });

  it('failNext fails the next n matching requests, then answers normally', async () => {
    gh.roles.set('someone', 'write');
    gh.failNext('GET', /\/permission$/, 502, 2);
    gh.failNext('POST', /\/reactions$/, 500);
    const get = () => octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'someone' });
    // Octokit from @actions/github does not retry, so each call is one request.
    expect(await status(get())).toBe(502);
    expect(await status(get())).toBe(502);
    expect((await get()).data.role_name).toBe('write');
    expect(
      await status(octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: 1, content: 'eyes' })),
    ).toBe(500);
    expect(gh.reactions).toEqual([]);
    await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: 1, content: 'eyes' });
    expect(gh.reactions).toEqual([{ id: expect.any(Number), comment_id: 1, content: 'eyes' }]);
    expect(gh.requests).toHaveLength(5);
  });

  it('answers 404 to other repositories and unknown endpoints', async () => {
    gh.roles.set('someone', 'admin');
    expect(
      await status(
        octokit.rest.repos.getCollaboratorPermissionLevel({
          owner: 'other',
          repo: gh.repo,
          username: 'someone',
        }),
      ),
    ).toBe(404);
    const res = await fetch(`${gh.url}/repos/${gh.owner}/${gh.repo}/releases`, {
      headers: { authorization: `token ${gh.token}` },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest',
    });
    expect(gh.requests.map((r) => r.path)).toEqual([
      `/repos/other/${gh.repo}/collaborators/someone/permission`,
      `/repos/${gh.owner}/${gh.repo}/releases`,
    ]);
  });
});

describe('event payloads', () => {
  type Comment = {
    action: string;
    comment: {
      id: number;
      body: string;
      user: { login: string; type: string };
      created_at: string;
      html_url: string;
    };
    issue: { number: number; pull_request?: { html_url: string; merged_at: null } };
    sender: { login: string; type: string };
    repository: { full_name: string };
  };

  it('uses one repository for every payload', () => {
    const { fullName, owner, repo: name } = exampleRepo();
    expect(fullName).toBe(`${owner}/${name}`);
    for (const p of [
      issueCommentPayload({ body: 'x' }),
      pushPayload(),
      workflowDispatchPayload({}),
      schedulePayload(),
    ] as { repository: { full_name: string; name: string; owner: { login: string } } }[]) {
      expect(p.repository).toMatchObject({ full_name: fullName, name, owner: { login: owner } });
    }
  });

  it('an issue_comment on a pull request by default', () => {
    const p = issueCommentPayload({
      body: '/canary deploy',
      login: 'maintainer',
      commentId: 4242,
      issueNumber: 7,
      createdAt: '2026-11-28T10:00:00Z',
    }) as Comment;
    const { fullName } = exampleRepo();
    expect(p.action).toBe('created');
    expect(p.comment).toMatchObject({
      id: 4242,
      body: '/canary deploy',
      user: { login: 'maintainer', type: 'User' },
      created_at: '2026-11-28T10:00:00Z',
      html_url: `https://github.com/${fullName}/pull/7#issuecomment-4242`,
    });
    expect(p.issue.number).toBe(7);
    expect(p.issue.pull_request).toEqual({
      url: `https://api.github.com/repos/${fullName}/pulls/7`,
      html_url: `https://github.com/${fullName}/pull/7`,
      diff_url: `https://github.com/${fullName}/pull/7.diff`,
      patch_url: `https://github.com/${fullName}/pull/7.patch`,
      merged_at: null,
    });
    expect(p.sender).toMatchObject({ login: 'maintainer', type: 'User' });
  });

  it('an issue_comment on a plain issue has no pull_request', () => {
    const p = issueCommentPayload({ body: 'x', isPr: false, issueNumber: 8 }) as Comment;
    expect(p.issue).not.toHaveProperty('pull_request');
    expect(p.comment.html_url).toContain('/issues/8#issuecomment-');
  });

  it('edited and deleted actions, and a Bot user', () => {
    const edited = issueCommentPayload({ action: 'edited', body: 'x' }) as Comment & { changes: unknown };
    expect(edited.action).toBe('edited');
    expect(edited.changes).toBeDefined();
    expect((issueCommentPayload({ action: 'deleted', body: 'x' }) as Comment).action).toBe('deleted');
    const bot = issueCommentPayload({ body: 'x', login: 'renovate[bot]', userType: 'Bot' }) as Comment;
    expect(bot.comment.user).toMatchObject({ login: 'renovate[bot]', type: 'Bot' });
    expect(bot.sender).toMatchObject({ login: 'renovate[bot]', type: 'Bot' });
  });

  it('builders return fresh copies', () => {
    const a = issueCommentPayload({ body: 'a' }) as Comment;
    a.comment.user.login = 'mutated';
    expect((issueCommentPayload({ body: 'b' }) as Comment).comment.user.login).not.toBe('mutated');
  });

  it('push, workflow_dispatch and schedule payloads', () => {
    const push = pushPayload(SHA) as { after: string; head_commit: { id: string }; ref: string };
    expect(push.after).toBe(SHA);
    expect(push.head_commit.id).toBe(SHA);
    expect(push.ref).toMatch(/^refs\//);
    expect((pushPayload() as { after: string }).after).toMatch(/^[0-9a-f]{40}$/);
    expect(workflowDispatchPayload({ command: 'advance' })).toMatchObject({ inputs: { command: 'advance' } });
    const schedule = schedulePayload();
    expect(schedule).toMatchObject({ schedule: '*/10 * * * *', workflow: '.github/workflows/canary.yml' });
    expect(schedule).not.toHaveProperty('sender');
    expect(schedulePayload('0 * * * *')).toMatchObject({ schedule: '0 * * * *' });
  });
});
