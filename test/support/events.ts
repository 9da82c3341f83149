// Event payloads for the action's tests, built from the real ones in @octokit/webhooks-examples and adjusted
// where a field is missing: no issue_comment example is on a pull request (issue.pull_request is added), and
// there is no schedule example (it is made as GitHub sends it).

import { createRequire } from 'node:module';

interface Example {
  name: string;
  examples: Record<string, unknown>[];
}

const all = createRequire(import.meta.url)('@octokit/webhooks-examples') as Example[];

function example(name: string, action?: string): Record<string, unknown> {
  const list = all.find((e) => e.name === name)?.examples ?? [];
  const found = list.find((e) => action === undefined || e.action === action);
  if (!found)
    throw new Error(`@octokit/webhooks-examples has no ${name}${action ? `.${action}` : ''} payload`);
  return structuredClone(found);
}

type Repository = { full_name: string; name: string; owner: { login: string } };

const repository = (): Repository => example('issue_comment', 'created').repository as Repository;

/** The repository of every payload here (the issue_comment examples'). */
export function exampleRepo(): { owner: string; repo: string; fullName: string } {
  const r = repository();
  return { owner: r.owner.login, repo: r.name, fullName: r.full_name };
}

export function issueCommentPayload(o: {
  action?: 'created' | 'edited' | 'deleted';
  body: string;
  login?: string;
  userType?: 'User' | 'Bot';
  commentId?: number;
  issueNumber?: number;
  isPr?: boolean;
  createdAt?: string;
}): Record<string, unknown> {
  const p = example('issue_comment', o.action ?? 'created');
  const comment = p.comment as Record<string, unknown> & { user: Record<string, unknown> };
  const issue = p.issue as Record<string, unknown>;
  const sender = p.sender as Record<string, unknown>;
  const login = o.login ?? 'Codertocat';
  const type = o.userType ?? 'User';
  const number = o.issueNumber ?? 1;
  const { fullName } = exampleRepo();
  comment.body = o.body;
  comment.id = o.commentId ?? 1001;
  comment.user = { ...comment.user, login, type };
  comment.created_at = o.createdAt ?? comment.created_at;
  comment.updated_at = o.createdAt ?? comment.updated_at;
  const isPr = o.isPr ?? true;
  // GitHub links a pull request's conversation under /pull/, a plain issue's under /issues/.
  const page = `https://github.com/${fullName}/${isPr ? 'pull' : 'issues'}/${number}`;
  comment.html_url = `${page}#issuecomment-${String(comment.id)}`;
  comment.issue_url = `https://api.github.com/repos/${fullName}/issues/${number}`;
  issue.number = number;
  issue.url = comment.issue_url;
  issue.html_url = page;
  if (isPr) {
    issue.pull_request = {
      url: `https://api.github.com/repos/${fullName}/pulls/${number}`,
      html_url: `https://github.com/${fullName}/pull/${number}`,
      diff_url: `https://github.com/${fullName}/pull/${number}.diff`,
      patch_url: `https://github.com/${fullName}/pull/${number}.patch`,
      merged_at: null,
    };
  } else {
    delete issue.pull_request;
  }
  p.sender = { ...sender, login, type };
  return p;
}

export function pushPayload(sha?: string): Record<string, unknown> {
  const p = example('push');
  p.repository = { ...(p.repository as object), ...repository() };
  if (sha) {
    p.after = sha;
    p.head_commit = { ...((p.head_commit as object | null) ?? {}), id: sha };
  }
  return p;
}

export function workflowDispatchPayload(inputs: Record<string, string>): Record<string, unknown> {
  const p = example('workflow_dispatch');
  p.repository = { ...(p.repository as object), ...repository() };
  p.inputs = inputs;
  return p;
}

/** GitHub sends a schedule event with the cron that fired; there is no example of it. */
export function schedulePayload(cron = '*/10 * * * *'): Record<string, unknown> {
  return { schedule: cron, repository: repository(), workflow: '.github/workflows/canary.yml' };
}

/** A pull_request event about pull request `number` (the example's `closed` one, unmerged, by default). */
export function pullRequestPayload(
  o: { action?: string; number?: number; merged?: boolean } = {},
): Record<string, unknown> {
  const p = example('pull_request', o.action ?? 'closed');
  const number = o.number ?? 1;
  const pr = p.pull_request as Record<string, unknown>;
  const { fullName } = exampleRepo();
  p.number = number;
  pr.number = number;
  pr.html_url = `https://github.com/${fullName}/pull/${number}`;
  if (o.merged !== undefined) pr.merged = o.merged;
  p.repository = { ...(p.repository as object), ...repository() };
  return p;
}
