// The built action, run as the runner runs it, against the emulator and a local fake of GitHub's REST API
// (GITHUB_API_URL), with event payloads from @octokit/webhooks-examples: comment commands, refusals, scheduled
// progression with an injected clock, racing runs, Deployments. No token or kubeconfig secret may show anywhere,
// and every GitHub request and answer conforms to GitHub's OpenAPI description (@octokit/openapi).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, routes, whenService, type Fixture } from './fixture.ts';
import { service } from '../emulator/helpers.ts';
import type { ActionResult, RunActionOptions } from './runner.ts';
import { errorLines, warningLines } from './runner.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/github.ts';
import { conformance } from '../support/openapi.ts';
import {
  exampleRepo,
  issueCommentPayload,
  pullRequestPayload,
  pushPayload,
  schedulePayload,
  workflowDispatchPayload,
} from '../support/events.ts';

const TOKEN = 'ghs_CANARYc4n4ryS3cretT0ken0000000000000';
const PR_SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const PUSH_SHA = '0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e';
const COMMENTED_AT = '2026-11-28T10:00:00Z';
const T0 = Date.parse('2026-11-28T12:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

let f: Fixture;
let gh: FakeGitHub;
/** Every byte the action produced in this test, to look for secrets in. */
let produced: string[];

beforeEach(async () => {
  f = await fixture();
  gh = await startFakeGitHub({ token: TOKEN });
  gh.roles.set('Codertocat', 'maintain');
  gh.roles.set('reader', 'read');
  gh.pulls.set(7, { headSha: PR_SHA });
  gh.commits.set(PR_SHA, { committerDate: '2026-11-28T09:30:00Z' });
  gh.commits.set(PUSH_SHA, { committerDate: '2026-11-28T09:00:00Z' });
  produced = [];
});

afterEach(async () => {
  // No token or kubeconfig content in any log, output, summary or comment.
  const all = [...produced, ...gh.comments.map((c) => c.body), JSON.stringify(gh.deployments)].join('\n');
  expect(all).not.toContain(TOKEN);
  expect(all).not.toContain(f.h.emulator.token);
  expect(all).not.toContain('client-key-data');
  // Every request the action made is one GitHub's OpenAPI description has, with the body it asks for, and
  // every answer of the fake has a documented status and the properties its schema requires.
  expect(gh.requests.flatMap((r) => conformance(r))).toEqual([]);
  await gh.close();
  await f.close();
});

const repo = () => `${exampleRepo().owner}/${exampleRepo().repo}`;

async function run(
  inputs: Record<string, string>,
  event: { name: string; payload: unknown },
  extra: Omit<RunActionOptions, 'inputs'> & { now?: string; sha?: string } = {},
): Promise<ActionResult> {
  const { now, sha, env, ...rest } = extra;
  const r = await f.run(
    { 'github-token': TOKEN, 'probe-rps': '20', ...inputs },
    {
      timeoutMs: 60_000,
      ...rest,
      event,
      env: {
        GITHUB_API_URL: gh.url,
        GITHUB_REPOSITORY: repo(),
        GITHUB_ACTOR: 'Codertocat',
        GITHUB_SHA: sha ?? PUSH_SHA,
        ...(now ? { KNATIVE_CANARY_NOW: now } : {}),
        ...env,
      },
    },
  );
  // `::add-mask::` lines are the runner's instructions to hide a value; it never shows them.
  const log = r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  produced.push(log, r.stderr, r.summary, JSON.stringify(r.outputs));
  return r;
}

const comment = (
  body: string,
  o: Partial<Parameters<typeof issueCommentPayload>[0]> = {},
  inputs: Record<string, string> = {},
) =>
  run(inputs, {
    name: 'issue_comment',
    payload: issueCommentPayload({
      body,
      login: 'Codertocat',
      issueNumber: 7,
      commentId: 4242,
      createdAt: COMMENTED_AT,
      ...o,
    }),
  });

const reactions = () => gh.reactions.filter((r) => r.comment_id === 4242).map((r) => r.content);
const replies = () => gh.comments.map((c) => c.body);

/** A preview of the PR's head at 0% under pr-7, from `/canary deploy`. */
async function preview(inputs: Record<string, string> = {}): Promise<ActionResult> {
  const r = await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}', ...inputs });
  expect(r.code, r.stdout).toBe(0);
  return r;
}

describe('comment commands by a maintainer', () => {
  it('/canary deploy deploys the pull request head as a preview at 0% under pr-<number> and replies with its URL', async () => {
    const r = await preview();
    expect(r.outputs.status).toBe('paused');
    expect(r.outputs.command).toBe('deploy');
    expect(r.outputs.revision).toBe('hello-a1b2c3d');
    expect(r.outputs['comment-url']).toBe(gh.comments[0]!.html_url);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    const svc = await f.svc();
    expect(svc.spec.traffic).toContainEqual({
      tag: 'pr-7',
      revisionName: 'hello-a1b2c3d',
      latestRevision: false,
      percent: 0,
    });
    expect(svc.spec.template.spec.containers[0].image).toBe(`ghcr.io/example/hello:${PR_SHA}`);
    const state = await f.state();
    expect(state).toMatchObject({
      candidate: 'hello-a1b2c3d',
      tag: 'pr-7',
      pr: 7,
      sha: PR_SHA,
      phase: 'stepping',
      percent: 0,
      paused: { by: '@Codertocat', reason: 'preview' },
    });
    expect(reactions()).toEqual(['eyes', 'rocket']);
    expect(replies()).toHaveLength(1);
    expect(replies()[0]).toMatch(
      /^`\/canary deploy` by @Codertocat · \[workflow run\]\(https:\/\/github\.com\//,
    );
    expect(replies()[0]).toContain('http://pr-7-hello.default.');
    expect(replies()[0]).toContain('### ⏸️ Paused: `default/hello`');
    // The GitHub calls, in order: eyes, who is asking, the pull request, its head commit, the reply, the rocket.
    expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `POST /repos/${repo()}/issues/comments/4242/reactions`,
      `GET /repos/${repo()}/collaborators/Codertocat/permission`,
      `GET /repos/${repo()}/pulls/7`,
      `GET /repos/${repo()}/commits/${PR_SHA}`,
      `POST /repos/${repo()}/issues/7/comments`,
      `POST /repos/${repo()}/issues/comments/4242/reactions`,
    ]);
  });

  it('/canary promote 50, pause, status, resume, promote: traffic moves only when asked', async () => {
    await preview({ progression: 'scheduled' });
    const p50 = await comment('/canary promote 50', {}, { progression: 'scheduled' });
    expect(p50.code, p50.stdout).toBe(0);
    expect(p50.outputs).toMatchObject({ status: 'progressing', command: 'promote', percent: '50' });
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-a1b2c3d': 50 });
    expect((await f.state())?.paused).toBeUndefined();

    const paused = await comment('/canary pause');
    expect(paused.outputs).toMatchObject({ status: 'paused', command: 'pause' });
    expect((await f.state())?.paused?.by).toBe('@Codertocat');

    f.h.emulator.api.requests.length = 0;
    const status = await comment('/canary status');
    expect(status.outputs).toMatchObject({ status: 'paused', command: 'status' });
    expect(f.writes()).toEqual([]);
    expect(replies().at(-1)).toContain('| **Rollout** | stepping at 50%, step 1 of 2');
    expect(replies().at(-1)).toContain('paused by @Codertocat |');

    const resumed = await comment('/canary resume', {}, { progression: 'scheduled' });
    expect(resumed.outputs).toMatchObject({ status: 'progressing', command: 'resume' });
    expect((await f.state())?.paused).toBeUndefined();
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-a1b2c3d': 50 });

    const promoted = await comment('/canary promote');
    expect(promoted.outputs).toMatchObject({ status: 'promoted', command: 'promote', percent: '100' });
    expect(await f.percents()).toEqual({ 'hello-a1b2c3d': 100 });
    // The six commands (preview included) each reacted on the same comment id here, and each got its own reply.
    // GitHub keeps one reaction of a kind per user: the first eyes and rocket are created (201), the others
    // answered with the one there (200), which the action takes as done.
    const reacted = gh.requests.filter((q) => q.path.endsWith('/4242/reactions'));
    expect(reacted.map((q) => [(q.body as { content: string }).content, q.status])).toEqual([
      ['eyes', 201],
      ['rocket', 201],
      ...Array.from({ length: 5 }, () => [
        ['eyes', 200],
        ['rocket', 200],
      ]).flat(),
    ]);
    expect(reactions()).toEqual(['eyes', 'rocket']);
    expect(replies()).toHaveLength(6);
  });

  it('/canary rollback puts the stable revision back at 100%', async () => {
    await preview();
    await comment('/canary promote 10', {}, { progression: 'scheduled' });
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-a1b2c3d': 10 });
    const r = await comment('/canary rollback');
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'rolled-back', command: 'rollback' });
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    expect(replies().at(-1)).toContain('### ↩️ Rolled back: `default/hello`');
  });

  it('/canary deploy while a rollout has traffic fails, says why, and changes nothing', async () => {
    await run(
      { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', progression: 'scheduled' },
      { name: 'push', payload: pushPayload(PUSH_SHA) },
    );
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
    const before = (await f.svc()).metadata.resourceVersion;
    const r = await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}' });
    expect(r.code).toBe(1);
    expect(errorLines(r.stdout).join('\n')).toContain(
      'a rollout of hello-v2 is in progress (stepping at 10%): a preview would take its place. Promote or roll it back first',
    );
    expect(replies().at(-1)).toContain('## ❌ Failed: `default/hello`'.replace('## ', '### '));
    expect(replies().at(-1)).toContain('a preview would take its place');
    expect(reactions()).toEqual(['eyes', '-1']);
    expect((await f.svc()).metadata.resourceVersion).toBe(before);
  });

  it('/canary help replies with the commands and touches nothing', async () => {
    const r = await comment('/canary help');
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'unchanged', command: 'help' });
    expect(replies()[0]).toContain('| `/canary promote [PERCENT]` |');
    expect(f.h.emulator.api.requests).toEqual([]);
    expect(reactions()).toEqual(['eyes', 'rocket']);
  });

  it('a workflow_dispatch input names the command', async () => {
    const r = await run(
      {},
      { name: 'workflow_dispatch', payload: workflowDispatchPayload({ command: 'status' }) },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'unchanged', command: 'status' });
    expect(f.writes()).toEqual([]);
  });
});

describe('previews are torn down: pr-<number> ends with the preview', () => {
  /** Entries of the user's own, which no preview's end may touch. */
  const user = [
    { tag: 'v1', revisionName: 'hello-00001', latestRevision: false, percent: 0 },
    { tag: 'preview', latestRevision: true, percent: 0 },
  ];
  const withUserEntries = async () => {
    await f.close();
    f = await fixture({ traffic: [{ latestRevision: true, percent: 100 }, ...user] });
  };
  /** The inputs the example workflow gives on every event, the closing one too. */
  const prInputs = { image: 'ghcr.io/example/hello:{{ sha }}' };
  const closed = (inputs: Record<string, string> = {}, o: { merged?: boolean } = {}) =>
    run(
      { ...prInputs, ...inputs },
      { name: 'pull_request', payload: pullRequestPayload({ number: 7, ...o }) },
    );
  const tagsIn = (traffic: { tag?: string }[] = []) => traffic.map((t) => t.tag);

  it('a preview promoted: pr-7 is gone from spec and status, the user entries are kept', async () => {
    await withUserEntries();
    await preview();
    const r = await comment('/canary promote');
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    const svc = await f.svc();
    expect(svc.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-a1b2c3d', latestRevision: false, percent: 100 },
      ...user,
    ]);
    expect(tagsIn(svc.status.traffic)).not.toContain('pr-7');
    expect(await f.percents()).toEqual({ 'hello-a1b2c3d': 100 });
    expect(r.outputs['tag-url']).toBe('');
  });

  it('the same head deployed again is answered with the parked preview; a push of that commit rolls it out, pr-7 gone', async () => {
    await preview();
    const again = await comment('/canary deploy', {}, prInputs);
    expect(again.code, again.stdout).toBe(0);
    expect(again.outputs.status).toBe('paused');
    expect(again.stdout).toContain(
      'hello-a1b2c3d is already deployed, paused at 0% by @Codertocat (a preview)',
    );
    // The pull request is merged fast-forward: the push deploys the very commit the preview parks.
    const pushed = await run(
      { ...prInputs, steps: '100', interval: '1s' },
      { name: 'push', payload: pushPayload(PR_SHA) },
      { sha: PR_SHA },
    );
    expect(pushed.code, pushed.stdout).toBe(0);
    expect(pushed.outputs.status).toBe('promoted');
    expect(await f.percents()).toEqual({ 'hello-a1b2c3d': 100 });
    expect(tagsIn((await f.svc()).spec.traffic)).not.toContain('pr-7');
  });

  it("a preview replaced by another pull request's preview, then by a deploy from main: each old tag goes", async () => {
    const PR8_SHA = 'b2c3d4e5f60718293a4b5c6d7e8f901234567890';
    gh.pulls.set(8, { headSha: PR8_SHA });
    gh.commits.set(PR8_SHA, { committerDate: '2026-11-28T09:40:00Z' });
    await withUserEntries();
    await preview();
    const second = await comment('/canary deploy', { issueNumber: 8 }, prInputs);
    expect(second.code, second.stdout).toBe(0);
    expect(second.outputs.status).toBe('paused');
    let svc = await f.svc();
    expect(svc.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-00001', latestRevision: false, percent: 100 },
      { tag: 'pr-8', revisionName: 'hello-b2c3d4e', latestRevision: false, percent: 0 },
      ...user,
    ]);
    expect(tagsIn(svc.status.traffic)).not.toContain('pr-7');

    const push = await run(
      { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '50,100' },
      { name: 'push', payload: pushPayload(PUSH_SHA) },
    );
    expect(push.code, push.stdout).toBe(0);
    expect(push.outputs.status).toBe('promoted');
    expect(warningLines(push.stdout).join('\n')).toContain(
      'A rollout of hello-b2c3d4e was in progress: it is superseded and gets no traffic.',
    );
    svc = await f.svc();
    expect(svc.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-v2', latestRevision: false, percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
      ...user,
    ]);
    expect(tagsIn(svc.status.traffic)).not.toContain('pr-8');
  }, 60_000);

  it('a pull request closed ends its parked preview: pr-7 gone, user entries untouched, one write', async () => {
    await withUserEntries();
    await preview();
    f.h.emulator.api.requests.length = 0;
    gh.requests.length = 0;
    const r = await closed();
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'closed', command: 'close', percent: '0', 'tag-url': '' });
    expect(r.stdout).toContain('Command: close (pull request #7 was closed).');
    expect(r.stdout).toContain(
      'Pull request #7 was closed: its preview of hello-a1b2c3d is rolled back and tag pr-7 removed. Traffic stays on hello-00001 100%.',
    );
    expect(r.stdout).toMatch(/^Rollout: +rolled-back at 0%$/m);
    expect(f.landed()).toEqual([
      { method: 'PATCH', url: '/apis/serving.knative.dev/v1/namespaces/default/services/hello' },
    ]);
    const svc = await f.svc();
    expect(svc.spec.traffic).toEqual([
      { tag: 'stable', revisionName: 'hello-00001', latestRevision: false, percent: 100 },
      ...user,
    ]);
    expect(tagsIn(svc.status.traffic)).not.toContain('pr-7');
    // As any rollback: the stable revision's template is back, so `preview` follows it again.
    expect(svc.spec.template.metadata.name).toBe('hello-00001');
    expect(svc.status.traffic.find((t: { tag?: string }) => t.tag === 'preview').revisionName).toBe(
      'hello-00001',
    );
    const state = await f.state();
    expect(state).toMatchObject({ phase: 'rolled-back', percent: 0, candidate: 'hello-a1b2c3d' });
    expect(state?.paused).toBeUndefined();
    expect(state?.history.at(-1)).toMatchObject({ action: 'close' });
    expect(r.summary).toContain('## 🧹 Preview removed: `default/hello`');
    // Nothing is said on GitHub: the pull request is closed.
    expect(gh.requests).toEqual([]);
  }, 60_000);

  it("a closed preview's GitHub Deployment is marked inactive, not failed", async () => {
    await preview({ environment: 'preview' });
    const r = await closed({ environment: 'preview' }, { merged: true });
    expect(r.code, r.stdout).toBe(0);
    expect(gh.statuses.map((s) => [s.state, s.description])).toEqual([
      ['in_progress', 'Deploying hello-a1b2c3d at 0% under tag pr-7'],
      ['in_progress', 'Preview of hello-a1b2c3d at 0% under tag pr-7'],
      [
        'inactive',
        'Closed: pull request #7 was closed (@Codertocat): the preview ends, and tag pr-7 with it',
      ],
    ]);
  }, 60_000);

  it('a pull request closed with only a pr-7 entry left: that entry goes, nothing else of the Service', async () => {
    const leftover = { tag: 'pr-7', latestRevision: true, percent: 0 };
    await f.close();
    f = await fixture({ traffic: [{ latestRevision: true, percent: 100 }, leftover, ...user] });
    const before = await f.svc();
    const r = await closed();
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'closed', command: 'close' });
    expect(r.stdout).toContain(
      'Pull request #7 was closed: removed tag pr-7 (the latest revision); nothing else of Service "hello" changed.',
    );
    expect(f.landed()).toEqual([
      { method: 'PATCH', url: '/apis/serving.knative.dev/v1/namespaces/default/services/hello' },
    ]);
    const after = await f.svc();
    expect(after.spec.traffic).toEqual(before.spec.traffic.filter((t: { tag?: string }) => t.tag !== 'pr-7'));
    expect(after.spec.template).toEqual(before.spec.template);
    expect(after.metadata.annotations).toEqual(before.metadata.annotations);
    expect(tagsIn(after.status.traffic)).not.toContain('pr-7');
    expect(tagsIn(after.status.traffic)).toEqual(expect.arrayContaining(['v1', 'preview']));
  });

  it('a pull request closed with nothing of it on the Service writes nothing and exits 0', async () => {
    await withUserEntries();
    const r = await closed();
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'unchanged', command: 'close' });
    expect(r.stdout).toContain('Nothing to remove: Service "hello" has no preview of #7 and no tag pr-7.');
    expect(f.writes()).toEqual([]);
  });

  it('a pull request closed while its rollout has traffic leaves it alone, and fails saying what to do', async () => {
    await preview({ progression: 'scheduled' });
    await comment('/canary promote 10', {}, { progression: 'scheduled' });
    f.h.emulator.api.requests.length = 0;
    const r = await closed();
    expect(r.code).toBe(1);
    expect(errorLines(r.stdout).join('\n')).toContain(
      'pull request #7 is closed, but its rollout of hello-a1b2c3d on Service "hello" has 10% of traffic, so it is left as it is (tag pr-7 too): promote it or roll it back (command: rollback)',
    );
    expect(f.writes()).toEqual([]);
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-a1b2c3d': 10 });
  }, 60_000);
});

describe('refusals: nothing is written to the cluster', () => {
  const untouched = () => {
    expect(f.h.emulator.api.requests).toEqual([]);
  };

  it('a user with read permission gets a polite refusal', async () => {
    const r = await comment('/canary promote 50', { login: 'reader' });
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'refused', command: '' });
    expect(replies()).toEqual([
      '🚫 @reader, `/canary promote 50` needs write, maintain or admin permission on Codertocat/Hello-World, and yours is read. Nothing was done.',
    ]);
    expect(r.outputs['comment-url']).toBe(gh.comments[0]!.html_url);
    expect(reactions()).toEqual(['eyes', '-1']);
    untouched();
  });

  it.each([
    ['/canary deploy', '/canary deploy'],
    ['/canary promote', '/canary promote'],
    ['/canary rollback hello-00001', '/canary rollback hello-00001'],
    ['/canary pause', '/canary pause'],
    ['/canary resume', '/canary resume'],
    ['/canary status', '/canary status'],
    ['/canary help', '/canary help'],
    ['/canary   promote 25%   ', '/canary promote 25%'],
  ])('a read user is refused %j, quoted as the action read it', async (body, quoted) => {
    const r = await comment(body, { login: 'reader' });
    expect(r.code).toBe(0);
    expect(r.outputs.status).toBe('refused');
    expect(replies()).toEqual([
      `🚫 @reader, \`${quoted}\` needs write, maintain or admin permission on Codertocat/Hello-World, and yours is read. Nothing was done.`,
    ]);
    expect(reactions()).toEqual(['eyes', '-1']);
    untouched();
  });

  it('a read user may run commands when permissions includes read', async () => {
    const r = await comment(
      '/canary status',
      { login: 'reader' },
      { permissions: 'read,write,maintain,admin' },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('unchanged');
    expect(reactions()).toEqual(['eyes', 'rocket']);
  });

  it('a custom repository role counts as the permission it inherits', async () => {
    gh.customRoles.set('deployer', { name: 'release-manager', permission: 'write' });
    gh.customRoles.set('watcher', { name: 'auditor', permission: 'read' });
    const r = await comment('/canary status', { login: 'deployer' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('unchanged');
    await comment('/canary rollback', { login: 'watcher' });
    expect(replies().at(-1)).toBe(
      '🚫 @watcher, `/canary rollback` needs write, maintain or admin permission on Codertocat/Hello-World, and yours is read. Nothing was done.',
    );
    expect(
      gh.requests
        .filter((x) => x.path.endsWith('/permission'))
        .map((x) => (x.response as { role_name: string }).role_name),
    ).toEqual(['release-manager', 'auditor']);
  });

  it('a user who is not a collaborator is refused the same way', async () => {
    await comment('/canary rollback', { login: 'stranger' });
    expect(replies()).toEqual([
      '🚫 @stranger, `/canary rollback` needs write, maintain or admin permission on Codertocat/Hello-World, and yours is none. Nothing was done.',
    ]);
    untouched();
  });

  it('a bot is ignored: no reply, no reaction', async () => {
    const r = await comment('/canary promote', { login: 'dependabot[bot]', userType: 'Bot' });
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'ignored', command: '' });
    expect(r.stdout).toContain(
      'Nothing to do: the comment is by a bot (dependabot[bot]): bots cannot run commands.',
    );
    expect(gh.requests).toEqual([]);
    untouched();
  });

  it('an edited comment is ignored: no reply, no reaction', async () => {
    const r = await comment('/canary promote', { action: 'edited' });
    expect(r.code).toBe(0);
    expect(r.outputs.status).toBe('ignored');
    expect(r.stdout).toContain('Nothing to do: the comment was edited: commands run only from new comments.');
    expect(gh.requests).toEqual([]);
    untouched();
  });

  it('a comment on an issue that is not a pull request is refused', async () => {
    const r = await comment('/canary deploy', { isPr: false, issueNumber: 8 });
    expect(r.code).toBe(0);
    expect(replies()).toEqual([
      '🚫 @Codertocat, `/canary` commands work on pull requests only, and #8 is an issue. Nothing was done.',
    ]);
    expect(gh.comments[0]!.issue_number).toBe(8);
    untouched();
  });

  it('a deploy is refused when the head commit is newer than the comment', async () => {
    gh.commits.set(PR_SHA, { committerDate: '2026-11-28T10:05:00Z' });
    const r = await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}' });
    expect(r.code).toBe(0);
    expect(r.outputs.status).toBe('refused');
    expect(replies()).toEqual([
      '🚫 @Codertocat, the head of #7 is now `a1b2c3d`, committed at 2026-11-28T10:05:00Z, after your comment (2026-11-28T10:00:00Z). Look at it, then comment again to deploy it. Nothing was done.',
    ]);
    expect(reactions()).toEqual(['eyes', '-1']);
    untouched();
  });

  it('a deploy from a fork is refused unless allow-forks', async () => {
    gh.pulls.set(7, { headSha: PR_SHA, headRepo: 'mallory/Hello-World', fork: true });
    await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}' });
    expect(replies()).toEqual([
      '🚫 @Codertocat, #7 comes from the fork mallory/Hello-World, and this workflow does not deploy forks (input `allow-forks`). Nothing was done.',
    ]);
    untouched();
  });

  it('a deploy from a fork that was deleted is refused unless allow-forks', async () => {
    gh.pulls.set(7, { headSha: PR_SHA, headRepo: null });
    await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}' });
    expect(replies()).toEqual([
      '🚫 @Codertocat, #7 comes from a fork that was deleted, and this workflow does not deploy forks (input `allow-forks`). Nothing was done.',
    ]);
    untouched();
  });

  it('a same-repository pull request in a repository that is itself a fork is deployed', async () => {
    // head.repo.fork is true for every branch of a fork; the head is this repository all the same.
    gh.pulls.set(7, { headSha: PR_SHA, fork: true });
    const r = await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('paused');
  });

  it('a deploy from a closed pull request is refused', async () => {
    gh.pulls.set(7, { headSha: PR_SHA, state: 'closed' });
    await comment('/canary deploy', {}, { image: 'ghcr.io/example/hello:{{ sha }}' });
    expect(replies()).toEqual([
      '🚫 @Codertocat, #7 is closed: only an open pull request is deployed. Nothing was done.',
    ]);
    untouched();
  });

  it('a deleted fork is deployed when allow-forks says so', async () => {
    gh.pulls.set(7, { headSha: PR_SHA, headRepo: null });
    const r = await comment(
      '/canary deploy',
      {},
      { image: 'ghcr.io/example/hello:{{ sha }}', 'allow-forks': 'true' },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('paused');
  });

  it('a fork is deployed when allow-forks says so', async () => {
    gh.pulls.set(7, { headSha: PR_SHA, headRepo: 'mallory/Hello-World', fork: true });
    const r = await comment(
      '/canary deploy',
      {},
      { image: 'ghcr.io/example/hello:{{ sha }}', 'allow-forks': 'true' },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('paused');
    expect((await f.state())?.candidate).toBe('hello-a1b2c3d');
  });

  it('an unknown command gets the help, and nothing runs', async () => {
    const r = await comment('/canary ship-it-now');
    expect(r.outputs.status).toBe('refused');
    expect(replies()[0]).toMatch(
      /^🤔 @Codertocat, `ship-it-now` is not a command\. Nothing was done\.\n\n\| Command \|/,
    );
    untouched();
  });
});

describe('scheduled progression', () => {
  const scheduled = {
    image: 'ghcr.io/example/hello:v2',
    'revision-name': 'hello-v2',
    progression: 'scheduled',
    steps: '10,50,100',
    interval: '10m',
    'min-interval': '1s',
    warmup: '0s',
  };
  const push = () => ({ name: 'push', payload: pushPayload(PUSH_SHA) });
  const schedule = () => ({ name: 'schedule', payload: schedulePayload() });
  const advance = (minutes: number, inputs: Record<string, string> = {}) =>
    run({ service: '', 'min-interval': '1s', warmup: '0s', ...inputs }, schedule(), { now: at(minutes) });

  it('takes a rollout from 0% to 100% over several advance runs, one step per dwell', async () => {
    const d = await run(scheduled, push(), { now: at(0) });
    expect(d.code, d.stdout).toBe(0);
    expect(d.outputs).toMatchObject({ status: 'progressing', command: 'deploy', percent: '10' });
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });

    const early = await advance(5);
    expect(early.code, early.stdout).toBe(0);
    expect(early.outputs).toMatchObject({ status: 'progressing', command: 'advance' });
    expect(early.stdout).toContain('Services with a rollout of this action in default: hello');
    expect(early.stdout).toContain('hello-v2 is healthy at 10%; the next step is due at 2026-11-28T12:10:00');
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });

    const second = await advance(11);
    expect(second.code, second.stdout).toBe(0);
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-v2': 50 });
    // Repeated at the same time: the new step's dwell has just begun.
    await advance(11);
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-v2': 50 });

    const last = await advance(22, { services: 'hello' });
    expect(last.code, last.stdout).toBe(0);
    expect(last.outputs.status).toBe('promoted');
    expect(await f.percents()).toEqual({ 'hello-v2': 100 });
    expect(f.maxPercent.get('hello-v2')).toBe(100);
    const steps = (await f.state())!.history.filter((h) => h.action === 'step').map((h) => h.detail);
    expect(steps).toEqual(['10%', '50%']);
  }, 120_000);

  it('two advance runs racing take one step', async () => {
    await run(scheduled, push(), { now: at(0) });
    const [a, b] = await Promise.all([advance(11), advance(11)]);
    expect(a.code, a.stdout).toBe(0);
    expect(b.code, b.stdout).toBe(0);
    // One took the step; the other either lost the write (it read the same state) or, started late, found the
    // new step's dwell just begun.
    const lost = [a, b].filter((r) =>
      warningLines(r.stdout).some((l) => l.includes('another run changed this rollout meanwhile')),
    );
    const late = [a, b].filter((r) =>
      r.stdout.includes('hello-v2 is healthy at 50%; the next step is due at'),
    );
    expect(lost.length + late.length, a.stdout + b.stdout).toBe(1);
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-v2': 50 });
    const steps = (await f.state())!.history.filter((h) => h.action === 'step').map((h) => h.detail);
    expect(steps).toEqual(['10%', '50%']);
    expect(f.maxPercent.get('hello-v2')).toBe(50);
  }, 120_000);

  it('leaves a paused rollout alone', async () => {
    await run(scheduled, push(), { now: at(0) });
    await comment('/canary pause');
    f.h.emulator.api.requests.length = 0;
    const r = await advance(30);
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('paused');
    expect(r.stdout).toContain('hello: nothing to do: the rollout of hello-v2 is paused (by @Codertocat at ');
    expect(f.writes()).toEqual([]);
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
  }, 120_000);

  it('asks confirm-promotion once per scheduled run, holding until it says yes', async () => {
    let answer = 403;
    const asked: string[] = [];
    const hook = createServer((req, res) => {
      req.resume();
      asked.push(req.url ?? '');
      res.writeHead(answer).end(answer === 200 ? 'ok' : 'release freeze');
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const webhooks = JSON.stringify([
      {
        name: 'release-manager',
        type: 'confirm-promotion',
        url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/confirm`,
      },
    ]);
    try {
      await run({ ...scheduled, steps: '10,100' }, push(), { now: at(0) });
      const held = await advance(11, { webhooks });
      expect(held.code, held.stdout).toBe(0);
      expect(held.outputs.status).toBe('progressing');
      expect(warningLines(held.stdout).join('\n')).toMatch(
        /Holding hello-v2 at 10%: promotion is not confirmed yet \(release-manager: .*403.*\); the next scheduled run asks again\./,
      );
      expect(asked).toHaveLength(1);
      expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
      answer = 200;
      const promoted = await advance(21, { webhooks });
      expect(promoted.outputs.status).toBe('promoted');
      expect(await f.percents()).toEqual({ 'hello-v2': 100 });
    } finally {
      await new Promise<void>((r) => hook.close(() => r()));
    }
  }, 120_000);

  it('advances several Services in one run; one failing does not hold the others up', async () => {
    await f.h.create(service('world', { image: 'ghcr.io/example/world:v1' }));
    await f.h.settled('world');
    await run(scheduled, push(), { now: at(0) });
    const bad = await run(
      {
        ...scheduled,
        service: 'world',
        image: 'ghcr.io/example/world:v2',
        'revision-name': 'world-v2',
        env: 'EMULATOR_ERROR_RATE=0.5',
      },
      push(),
      { now: at(0) },
    );
    expect(bad.code, bad.stdout).toBe(0);
    const r = await advance(11, { services: 'hello\nworld', 'probe-rps': '40', 'min-interval': '3s' });
    expect(r.code).toBe(1);
    expect(r.outputs).toMatchObject({ status: 'rolled-back', command: 'advance' });
    expect(await f.percents()).toEqual({ 'hello-00001': 50, 'hello-v2': 50 });
    const world = await f.h.get('services', 'world');
    expect(
      world.status.traffic
        .filter((t: { percent?: number }) => t.percent)
        .map((t: { revisionName: string }) => t.revisionName),
    ).toEqual(['world-00001']);
    expect(r.summary).toContain('`default/hello`');
    expect(r.summary).toContain('`default/world`');
    expect(errorLines(r.stdout).join('\n')).toMatch(/Rolled back world-v2: 10% step failed/);
  }, 120_000);

  it('rolls back a failing step', async () => {
    await run({ ...scheduled, env: 'EMULATOR_ERROR_RATE=0.5\nEMULATOR_ERROR_STATUS=503' }, push(), {
      now: at(0),
    });
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
    const r = await advance(3, { 'probe-rps': '40', 'min-interval': '3s' });
    expect(r.code).toBe(1);
    expect(r.outputs.status).toBe('rolled-back');
    expect(errorLines(r.stdout).join('\n')).toMatch(/Rolled back hello-v2: 10% step failed/);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  }, 120_000);
});

describe('a pause while an inline run holds a step', () => {
  const routedAt10 = () => whenService(f, routes('hello-v2', 10));

  it('stops a healthy inline run at its next step, leaving traffic where the pause holds it', async () => {
    const routed = routedAt10();
    const inline = run(
      { image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', steps: '10,50', interval: '6s' },
      { name: 'push', payload: pushPayload(PUSH_SHA) },
    );
    await routed;
    const paused = await comment('/canary pause');
    expect(paused.outputs.status, paused.stdout).toBe('paused');
    const r = await inline;
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('paused');
    expect(r.outputs).toMatchObject({ revision: 'hello-v2', percent: '10' });
    expect(warningLines(r.stdout).join('\n')).toMatch(
      /hello: Stopped: another run changed this rollout meanwhile \(it is now stepping of hello-v2 at 10%\), so this run stops without writing over it\. Traffic is on hello-00001 90%, hello-v2 10%\./,
    );
    expect(f.maxPercent.get('hello-v2')).toBe(10);
    expect(await f.percents()).toEqual({ 'hello-00001': 90, 'hello-v2': 10 });
  }, 120_000);

  it('a failed check still rolls back after a pause landed', async () => {
    let rollbackAnswer = 404;
    const hook = createServer((req, res) => {
      req.resume();
      res.writeHead(rollbackAnswer).end();
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const webhooks = JSON.stringify([
      { name: 'pager', type: 'rollback', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/` },
    ]);
    try {
      const routed = routedAt10();
      const inline = run(
        {
          image: 'ghcr.io/example/hello:v2',
          'revision-name': 'hello-v2',
          steps: '10,50',
          interval: '30s',
          'check-every': '1s',
          webhooks,
        },
        { name: 'push', payload: pushPayload(PUSH_SHA) },
      );
      await routed;
      const paused = await comment('/canary pause');
      expect(paused.outputs.status, paused.stdout).toBe('paused');
      // The pager now says roll back: the inline run's next check fails, and its rollback wins over the pause.
      rollbackAnswer = 200;
      const r = await inline;
      expect(r.code).toBe(1);
      expect(r.outputs.status).toBe('rolled-back');
      expect(warningLines(r.stdout).join('\n')).toContain(
        'Another run changed this rollout meanwhile (now stepping at 10%, paused by @Codertocat); it is rolled back all the same',
      );
      expect(await f.percents()).toEqual({ 'hello-00001': 100 });
      expect((await f.state())?.phase).toBe('rolled-back');
    } finally {
      await new Promise<void>((r) => hook.close(() => r()));
    }
  }, 120_000);
});

describe('GitHub Deployments', () => {
  it('creates a deployment per rollout and moves its status in order, the replaced one inactive', async () => {
    const inline = { environment: 'production', steps: '10,50', interval: '600ms', 'min-interval': '300ms' };
    const first = await run(
      { ...inline, image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2' },
      {
        name: 'push',
        payload: pushPayload(PUSH_SHA),
      },
    );
    expect(first.code, first.stdout).toBe(0);
    const second = await run(
      { ...inline, image: 'ghcr.io/example/hello:v3', 'revision-name': 'hello-v3' },
      { name: 'push', payload: pushPayload(PR_SHA) },
      { sha: PR_SHA },
    );
    expect(second.code, second.stdout).toBe(0);
    expect(gh.deployments.map((d) => [d.id, d.ref, d.environment])).toEqual([
      [1001, PUSH_SHA, 'production'],
      [1002, PR_SHA, 'production'],
    ]);
    expect(gh.deployments[0]).toMatchObject({
      auto_merge: false,
      required_contexts: [],
      payload: { service: 'hello', namespace: 'default', revision: 'hello-v2' },
    });
    expect(gh.statuses.map((s) => [s.deployment_id, s.state, s.description])).toEqual([
      [1001, 'in_progress', 'Deploying hello-v2 at 0% under tag latest'],
      [1001, 'in_progress', '10% of traffic (step 1 of 3)'],
      [1001, 'in_progress', '50% of traffic (step 2 of 3)'],
      [1001, 'success', 'Promoted hello-v2: 100% of traffic'],
      [1002, 'in_progress', 'Deploying hello-v3 at 0% under tag latest'],
      [1002, 'in_progress', '10% of traffic (step 1 of 3)'],
      [1002, 'in_progress', '50% of traffic (step 2 of 3)'],
      [1002, 'success', 'Promoted hello-v3: 100% of traffic'],
      [1001, 'inactive', 'Replaced by hello-v3'],
    ]);
    const success = gh.statuses.find((s) => s.state === 'success')!;
    expect(success.environment_url).toMatch(/^http:\/\/hello\.default\./);
    expect(success.log_url).toBe(`https://github.com/${repo()}/actions/runs/1001`);
    expect(success.auto_inactive).toBe(false);
  }, 120_000);

  it("leaves production_environment to GitHub's default, or sets it from production-environment", async () => {
    const push = (inputs: Record<string, string>) =>
      run(
        { environment: 'staging', image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2', ...inputs },
        { name: 'push', payload: pushPayload(PUSH_SHA) },
      );
    const bodies = () =>
      gh.requests
        .filter((x) => x.method === 'POST' && x.path.endsWith('/deployments'))
        .map((x) => x.body as Record<string, unknown>);
    expect((await push({})).code).toBe(0);
    expect(bodies()[0]).toMatchObject({ transient_environment: false });
    expect(bodies()[0]).not.toHaveProperty('production_environment');
    expect(gh.deployments[0]!.production_environment).toBeUndefined();
    const r = await push({
      'revision-name': 'hello-v3',
      image: 'ghcr.io/example/hello:v3',
      'production-environment': 'true',
    });
    expect(r.code, r.stdout).toBe(0);
    expect(bodies()[1]).toMatchObject({ transient_environment: false, production_environment: true });
  }, 120_000);

  it('a preview is a transient deployment, never production', async () => {
    await preview({ environment: 'preview', 'production-environment': 'true' });
    expect(gh.deployments).toHaveLength(1);
    expect(gh.deployments[0]).toMatchObject({
      ref: PR_SHA,
      environment: 'preview',
      transient_environment: true,
      production_environment: false,
      payload: { pr: 7 },
    });
    expect(gh.statuses.map((s) => [s.state, s.description])).toEqual([
      ['in_progress', 'Deploying hello-a1b2c3d at 0% under tag pr-7'],
      ['in_progress', 'Preview of hello-a1b2c3d at 0% under tag pr-7'],
    ]);
  });

  it('refuses a production-environment that is not auto, true or false, naming the input', async () => {
    const r = await run(
      { environment: 'staging', image: 'ghcr.io/example/hello:v2', 'production-environment': 'yes please' },
      { name: 'push', payload: pushPayload(PUSH_SHA) },
    );
    expect(r.code).toBe(1);
    expect(errorLines(r.stdout).join('\n')).toContain(
      `Input 'production-environment': "yes please" is not auto, true or false`,
    );
    expect(gh.deployments).toEqual([]);
  });

  it('marks a deployment whose template could not be written as an error', async () => {
    f.h.emulator.faults.set({
      api: [{ method: 'PATCH', path: '/services/', action: 'status', status: 403, times: 1 }],
    });
    const r = await run(
      { environment: 'production', image: 'ghcr.io/example/hello:v2', 'revision-name': 'hello-v2' },
      { name: 'push', payload: pushPayload(PUSH_SHA) },
    );
    expect(r.code).toBe(1);
    expect(gh.deployments).toHaveLength(1);
    expect(gh.statuses.map((s) => s.state)).toEqual(['error']);
    expect(gh.statuses[0]!.description).toMatch(/^Not deployed: /);
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
  });

  it('marks a rolled-back deployment failed', async () => {
    const r = await run(
      {
        environment: 'production',
        image: 'ghcr.io/example/hello:v2',
        'revision-name': 'hello-v2',
        steps: '10,50',
        interval: '5s',
        'probe-rps': '40',
        env: 'EMULATOR_ERROR_RATE=0.5\nEMULATOR_ERROR_STATUS=503',
      },
      { name: 'push', payload: pushPayload(PUSH_SHA) },
    );
    expect(r.code).toBe(1);
    expect(gh.statuses.map((s) => s.state)).toEqual(['in_progress', 'in_progress', 'failure']);
    expect(gh.statuses.at(-1)!.description).toMatch(/^Rolled back: 10% step failed/);
    expect(warningLines(r.stdout)).toEqual([]);
  }, 120_000);
});
