// The fake GitHub's answers, and requests made through the same Octokit the action uses, checked against GitHub's
// OpenAPI description; and the checker itself catches what does not conform.

import { getOctokit } from '@actions/github';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub, type RecordedRequest } from './github.ts';
import { conformance, operationFor } from './openapi.ts';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const req = (o: Partial<RecordedRequest>): RecordedRequest => ({
  method: 'GET',
  path: '/',
  query: {},
  headers: {},
  body: undefined,
  ...o,
});

describe('the OpenAPI checker', () => {
  it('finds the operation of a method and path', () => {
    expect(operationFor('POST', '/repos/o/r/deployments/5/statuses')).toMatchObject({
      template: '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      op: { operationId: 'repos/create-deployment-status' },
      params: { owner: 'o', repo: 'r', deployment_id: '5' },
    });
    expect(operationFor('PUT', '/repos/o/r/deployments/5/statuses')).toBeUndefined();
  });

  it('reports an unknown operation, a missing required property, a wrong type or value, an unknown one', () => {
    expect(conformance(req({ method: 'POST', path: '/repos/o/r/deploy' }))).toEqual([
      "POST /repos/o/r/deploy: no such operation in GitHub's description",
    ]);
    const at = 'POST /repos/o/r/deployments (repos/create-deployment)';
    expect(
      conformance(
        req({
          method: 'POST',
          path: '/repos/o/r/deployments',
          body: { environment: 7, transient_environment: 'yes', bogus: 1 },
        }),
      ),
    ).toEqual([
      `${at} body: lacks the required "ref"`,
      `${at} body.environment: a integer, where the description says string`,
      `${at} body.transient_environment: a string, where the description says boolean`,
      `${at} body: "bogus" is not a property the description has`,
    ]);
    expect(
      conformance(
        req({ method: 'POST', path: '/repos/o/r/issues/comments/1/reactions', body: { content: 'tada' } }),
      ),
    ).toEqual([
      'POST /repos/o/r/issues/comments/1/reactions (reactions/create-for-issue-comment) body.content: "tada" is not one of ["+1","-1","laugh","confused","heart","hooray","rocket","eyes"]',
    ]);
    expect(conformance(req({ path: '/repos/o/r/deployments', query: { sort: 'x' } }))).toEqual([
      'GET /repos/o/r/deployments (repos/list-deployments): query parameter "sort" is not one it takes',
    ]);
  });

  it('reports an undocumented status and a response without a required property', () => {
    const r = req({
      method: 'POST',
      path: '/repos/o/r/issues/comments/1/reactions',
      body: { content: 'eyes' },
      status: 202,
    });
    expect(conformance(r)).toEqual([
      'POST /repos/o/r/issues/comments/1/reactions (reactions/create-for-issue-comment): answered 202, where the description has 200, 201, 422',
    ]);
    expect(conformance({ ...r, status: 201, response: { id: 1, content: 'eyes' } })).toEqual(
      ['node_id', 'user', 'created_at'].map(
        (p) =>
          `POST /repos/o/r/issues/comments/1/reactions (reactions/create-for-issue-comment) response: lacks the required "${p}"`,
      ),
    );
  });
});

describe('the fake GitHub conforms', () => {
  let gh: FakeGitHub;
  beforeEach(async () => {
    gh = await startFakeGitHub();
  });
  afterEach(() => gh.close());

  it('for every endpoint the action calls', async () => {
    const octokit = getOctokit(gh.token, { baseUrl: gh.url });
    const repo = { owner: gh.owner, repo: gh.repo };
    gh.roles.set('someone', 'write');
    gh.customRoles.set('custom', { name: 'deployer', permission: 'write' });
    gh.pulls.set(7, { headSha: SHA });
    await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'someone' });
    await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'custom' });
    await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: 1, content: 'eyes' });
    await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: 1, content: 'eyes' });
    await octokit.rest.issues.createComment({ ...repo, issue_number: 7, body: 'hi' });
    const { data: d } = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: SHA,
      environment: 'pr-7',
      payload: { pr: 7 },
      auto_merge: false,
      required_contexts: [],
      transient_environment: true,
      production_environment: false,
    });
    const id = (d as { id: number }).id;
    await octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state: 'in_progress',
      description: 'x',
      log_url: 'https://github.com/o/r/actions/runs/1',
      environment_url: 'http://pr-7-hello.default.example.com',
      auto_inactive: false,
    });
    await octokit.rest.repos
      .createDeploymentStatus({
        ...repo,
        deployment_id: id,
        state: 'success',
        description: 'y'.repeat(141),
      })
      .catch(() => undefined);
    await octokit.rest.repos.listDeployments({ ...repo, environment: 'pr-7' });
    await octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: id });
    expect(gh.requests.map((r) => r.status)).toEqual([200, 200, 201, 200, 201, 201, 201, 422, 200, 200]);
    expect(gh.requests.flatMap((r) => conformance(r))).toEqual([]);
  });
});
