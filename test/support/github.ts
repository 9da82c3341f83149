// A local fake of the GitHub REST endpoints the action calls, over real HTTP: the action reaches it through
// GITHUB_API_URL. It answers with the shapes api.github.com uses (the status codes and fields of GitHub's OpenAPI
// description, @octokit/openapi), checks the token, and records every request.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exampleRepo } from './events.ts';

export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  /** The fake's answer. */
  status?: number;
  response?: unknown;
  /** The answer was a failure that failNext asked for. */
  injected?: boolean;
}

export interface FakeGitHub {
  /** What GITHUB_API_URL is set to. */
  url: string;
  token: string;
  owner: string;
  repo: string;
  requests: RecordedRequest[];
  roles: Map<string, Role>;
  /**
   * Users with a custom repository role: `role_name` is its name, `permission` the legacy one it maps to.
   * Looked up before `roles`.
   */
  customRoles: Map<string, { name: string; permission: 'admin' | 'write' | 'read' | 'none' }>;
  pulls: Map<
    number,
    {
      headSha: string;
      headRef?: string;
      /** The head repository's full name (default: this repository); null: deleted, as for a deleted fork. */
      headRepo?: string | null;
      /** `head.repo.fork`: whether the head repository is itself a fork (default: when it is another one). */
      fork?: boolean;
      state?: 'open' | 'closed';
    }
  >;
  commits: Map<string, { committerDate: string; authorDate?: string }>;
  comments: {
    id: number;
    issue_number: number;
    body: string;
    html_url: string;
    created_at: string;
    updated_at: string;
  }[];
  reactions: { id: number; comment_id: number; content: string }[];
  deployments: {
    id: number;
    ref: string;
    sha: string;
    environment: string;
    description?: string;
    payload?: unknown;
    transient_environment?: boolean;
    production_environment?: boolean;
    auto_merge?: boolean;
    required_contexts?: string[];
    created_at: string;
  }[];
  statuses: {
    id: number;
    deployment_id: number;
    state: string;
    environment_url?: string;
    log_url?: string;
    description?: string;
    auto_inactive?: boolean;
    created_at: string;
  }[];
  /** Requests other than GET, as 'POST /repos/o/r/...'. */
  writes(): string[];
  /** The next n requests matching method and path fail with status. */
  failNext(method: string, path: RegExp, status: number, n?: number): void;
  close(): Promise<void>;
}

const LEGACY: Record<Role, string> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
  none: 'none',
};
const REACTIONS = ['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'];
const STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
/** Who creates deployments and statuses with GITHUB_TOKEN. */
const BOT = {
  login: 'github-actions[bot]',
  id: 41898282,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  type: 'Bot',
  site_admin: false,
};
const nodeId = (kind: string, id: number) => Buffer.from(`${kind}${id}`).toString('base64');

export async function startFakeGitHub(opts: { token?: string } = {}): Promise<FakeGitHub> {
  const { owner, repo } = exampleRepo();
  const token = opts.token ?? 'ghs_fake_token';
  const failures: { method: string; path: RegExp; status: number; n: number }[] = [];
  let nextId = 1;
  let nextDeployment = 1001;
  /** The server's own address, known once it listens. */
  let base = '';

  const fake: Omit<FakeGitHub, 'url' | 'close'> = {
    token,
    owner,
    repo,
    requests: [],
    roles: new Map(),
    customRoles: new Map(),
    pulls: new Map(),
    commits: new Map(),
    comments: [],
    reactions: [],
    deployments: [],
    statuses: [],
    writes: () => fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
    failNext: (method, path, status, n = 1) => failures.push({ method, path, status, n }),
  };

  const handle = (req: IncomingMessage, body: unknown, url: URL): [number, unknown, boolean?] => {
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) return [401, { message: 'Bad credentials' }];
    const failure = failures.find((f) => f.n > 0 && f.method === req.method && f.path.test(url.pathname));
    if (failure) {
      failure.n--;
      return [failure.status, { message: `injected ${failure.status}` }, true];
    }
    const prefix = `/repos/${owner}/${repo}/`;
    if (!url.pathname.startsWith(prefix)) return [404, notFound];
    const route = `${req.method} ${url.pathname.slice(prefix.length)}`;
    const b = (body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;

    if ((m = /^GET collaborators\/([^/]+)\/permission$/.exec(route))) {
      const login = decodeURIComponent(m[1]!);
      const custom = fake.customRoles.get(login);
      if (custom) return [200, { permission: custom.permission, role_name: custom.name, user: { login } }];
      const role = fake.roles.get(login);
      if (!role) return [404, notFound];
      return [200, { permission: LEGACY[role], role_name: role, user: { login } }];
    }
    if ((m = /^POST issues\/comments\/(\d+)\/reactions$/.exec(route))) {
      if (!REACTIONS.includes(String(b.content))) return [422, { message: 'Validation Failed' }];
      const comment_id = Number(m[1]);
      const content = String(b.content);
      // The same reaction by the same user again: 200 with the one there ("Reaction exists").
      const existing = fake.reactions.find((r) => r.comment_id === comment_id && r.content === content);
      const reaction = existing ?? { id: nextId++, comment_id, content };
      if (!existing) fake.reactions.push(reaction);
      return [
        existing ? 200 : 201,
        {
          id: reaction.id,
          node_id: nodeId('REA_', reaction.id),
          content,
          user: BOT,
          created_at: new Date().toISOString(),
        },
      ];
    }
    if ((m = /^POST issues\/(\d+)\/comments$/.exec(route))) {
      if (typeof b.body !== 'string' || b.body === '') return [422, { message: 'Validation Failed' }];
      const id = nextId++;
      const issue = Number(m[1]);
      // GitHub links a comment on a pull request under /pull/, one on an issue under /issues/.
      const kind = fake.pulls.has(issue) ? 'pull' : 'issues';
      const c = {
        id,
        issue_number: issue,
        body: b.body,
        html_url: `https://github.com/${owner}/${repo}/${kind}/${issue}#issuecomment-${id}`,
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      };
      fake.comments.push(c);
      return [201, commentOut(c)];
    }
    if ((m = /^PATCH issues\/comments\/(\d+)$/.exec(route))) {
      const c = fake.comments.find((x) => x.id === Number(m![1]));
      if (!c) return [404, notFound];
      c.body = String(b.body);
      c.updated_at = new Date().toISOString();
      return [200, commentOut(c)];
    }
    if ((m = /^GET pulls\/(\d+)$/.exec(route))) {
      const n = Number(m[1]);
      const p = fake.pulls.get(n);
      if (!p) return [404, notFound];
      const headRepo = p.headRepo === undefined ? `${owner}/${repo}` : p.headRepo;
      return [
        200,
        {
          number: n,
          state: p.state ?? 'open',
          head: {
            sha: p.headSha,
            ref: p.headRef ?? 'feature',
            repo:
              headRepo === null
                ? null
                : { full_name: headRepo, fork: p.fork ?? headRepo !== `${owner}/${repo}` },
          },
          base: { ref: 'main', repo: { full_name: `${owner}/${repo}` } },
        },
      ];
    }
    if ((m = /^GET commits\/([^/]+)$/.exec(route))) {
      const sha = m[1]!;
      const c = fake.commits.get(sha);
      if (!c) return [422, { message: `No commit found for SHA: ${sha}` }];
      return [
        200,
        {
          sha,
          commit: { author: { date: c.authorDate ?? c.committerDate }, committer: { date: c.committerDate } },
        },
      ];
    }
    if (route === 'POST deployments') {
      if (typeof b.ref !== 'string' || b.ref === '') return [422, { message: 'Validation Failed: ref' }];
      const ref = b.ref;
      const d = {
        id: nextDeployment++,
        ref,
        sha: /^[0-9a-f]{40}$/.test(ref) ? ref : 'f'.repeat(40),
        environment: typeof b.environment === 'string' ? b.environment : 'production',
        description: b.description as string | undefined,
        payload: b.payload,
        transient_environment: b.transient_environment as boolean | undefined,
        production_environment: b.production_environment as boolean | undefined,
        auto_merge: b.auto_merge as boolean | undefined,
        required_contexts: b.required_contexts as string[] | undefined,
        created_at: new Date().toISOString(),
      };
      fake.deployments.push(d);
      return [201, deploymentOut(d)];
    }
    if (route === 'GET deployments') {
      const q = Object.fromEntries(url.searchParams);
      const list = fake.deployments
        .filter(
          (d) =>
            (!q.environment || d.environment === q.environment) &&
            (!q.sha || d.sha === q.sha) &&
            (!q.ref || d.ref === q.ref),
        )
        .reverse();
      return [200, list.map(deploymentOut)];
    }
    if ((m = /^POST deployments\/(\d+)\/statuses$/.exec(route))) {
      const id = Number(m[1]);
      if (!fake.deployments.some((d) => d.id === id)) return [404, notFound];
      if (!STATES.includes(String(b.state))) return [422, { message: 'Validation Failed: state' }];
      if (typeof b.description === 'string' && b.description.length > 140)
        return [422, { message: 'Validation Failed: description is too long (maximum is 140 characters)' }];
      const s = {
        id: nextId++,
        deployment_id: id,
        state: String(b.state),
        environment_url: b.environment_url as string | undefined,
        log_url: b.log_url as string | undefined,
        description: b.description as string | undefined,
        auto_inactive: b.auto_inactive as boolean | undefined,
        created_at: new Date().toISOString(),
      };
      fake.statuses.push(s);
      return [201, statusOut(s)];
    }
    if ((m = /^GET deployments\/(\d+)\/statuses$/.exec(route))) {
      const id = Number(m[1]);
      return [
        200,
        fake.statuses
          .filter((s) => s.deployment_id === id)
          .reverse()
          .map(statusOut),
      ];
    }
    return [404, notFound];
  };

  /** An issue comment as GitHub answers it. */
  const commentOut = (c: FakeGitHub['comments'][number]) => {
    const repoUrl = `${base}/repos/${owner}/${repo}`;
    return {
      id: c.id,
      node_id: nodeId('IC_', c.id),
      url: `${repoUrl}/issues/comments/${c.id}`,
      html_url: c.html_url,
      issue_url: `${repoUrl}/issues/${c.issue_number}`,
      body: c.body,
      user: BOT,
      created_at: c.created_at,
      updated_at: c.updated_at,
    };
  };
  /** A deployment as GitHub answers it. */
  const deploymentOut = (d: FakeGitHub['deployments'][number]) => {
    const repoUrl = `${base}/repos/${owner}/${repo}`;
    const { auto_merge: _a, required_contexts: _r, ...rest } = d;
    return {
      ...rest,
      url: `${repoUrl}/deployments/${d.id}`,
      node_id: nodeId('DE_', d.id),
      task: 'deploy',
      original_environment: d.environment,
      description: d.description ?? null,
      payload: d.payload ?? {},
      // GitHub's default: production only for an environment named production.
      production_environment: d.production_environment ?? d.environment === 'production',
      transient_environment: d.transient_environment ?? false,
      creator: BOT,
      updated_at: d.created_at,
      statuses_url: `${repoUrl}/deployments/${d.id}/statuses`,
      repository_url: repoUrl,
    };
  };
  /** A deployment status as GitHub answers it: `target_url` mirrors `log_url`. */
  const statusOut = (s: FakeGitHub['statuses'][number]) => {
    const repoUrl = `${base}/repos/${owner}/${repo}`;
    const d = fake.deployments.find((x) => x.id === s.deployment_id);
    const { deployment_id: _d, auto_inactive: _i, ...rest } = s;
    return {
      ...rest,
      url: `${repoUrl}/deployments/${s.deployment_id}/statuses/${s.id}`,
      node_id: nodeId('DES_', s.id),
      description: s.description ?? '',
      environment: d?.environment,
      environment_url: s.environment_url ?? '',
      log_url: s.log_url ?? '',
      target_url: s.log_url ?? '',
      creator: BOT,
      updated_at: s.created_at,
      deployment_url: `${repoUrl}/deployments/${s.deployment_id}`,
      repository_url: repoUrl,
    };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      };
      fake.requests.push(recorded);
      const [status, out, injected] = handle(req, body, url);
      recorded.status = status;
      recorded.response = out;
      if (injected) recorded.injected = true;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return {
    ...fake,
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };
