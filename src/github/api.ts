// The GitHub REST calls the action makes, through @actions/github's Octokit (GITHUB_API_URL is its base URL).
// Each returns plain data; failures carry the endpoint and GitHub's message, never the token.

import { getOctokit } from '@actions/github';
import { GitHubError } from '../errors.ts';

export type Reaction = 'eyes' | 'rocket' | '-1' | 'confused';
/** Repository roles, lowest first, as GitHub's collaborator permission API names them. */
export const ROLES = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** How long one GitHub request may take. */
export const GITHUB_TIMEOUT_MS = 15_000;

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface PullRequest {
  number: number;
  state: string;
  headSha: string;
  /** The head repository's full name; '' when it was deleted. */
  headRepo: string;
  baseRepo: string;
  /**
   * Whether the head is in another repository than the base: a fork, or a deleted one. (`head.repo.fork` says
   * whether the head repository is itself a fork, which a same-repository pull request in a fork also is.)
   */
  fork: boolean;
}

/** The role a collaborator permission answer gives: `role_name` when it is one of the five, else `permission`. */
export function roleOf(data: { role_name?: string | null; permission?: string | null }): Role | 'none' {
  const roles = ROLES as readonly string[];
  if (data.role_name && roles.includes(data.role_name)) return data.role_name as Role;
  return data.permission && roles.includes(data.permission) ? (data.permission as Role) : 'none';
}

export interface Repo {
  owner: string;
  repo: string;
}

export class GitHub {
  private readonly octokit: ReturnType<typeof getOctokit>;
  /** Requests made, for the log's closing line. */
  requests = 0;

  constructor(
    token: string,
    readonly repo: Repo,
    baseUrl = process.env.GITHUB_API_URL || 'https://api.github.com',
    timeoutMs = GITHUB_TIMEOUT_MS,
  ) {
    this.octokit = getOctokit(token, { baseUrl });
    // Every request has a time limit: a slow GitHub never holds a run (a cancelled one least of all) past it.
    this.octokit.hook.before('request', (options) => {
      options.request = { ...options.request, signal: AbortSignal.timeout(timeoutMs) };
    });
  }

  private async call<T>(what: string, fn: () => Promise<{ data: T }>): Promise<T> {
    this.requests++;
    try {
      return (await fn()).data;
    } catch (e) {
      const err = e as { status?: number; message?: string; response?: { data?: { message?: string } } };
      const message = err.response?.data?.message ?? err.message ?? String(e);
      throw new GitHubError(
        err.status,
        `GitHub API ${what}: ${err.status ?? ''} ${message}`.replace(/\s+/g, ' '),
      );
    }
  }

  /**
   * The user's role on the repository; `none` when they are not a collaborator. `role_name` names the role, but
   * for a custom repository role it is the custom role's name: then the legacy `permission` (admin, write, read
   * or none, which is what that custom role inherits from) decides.
   */
  async role(login: string): Promise<Role | 'none'> {
    try {
      const data = await this.call('collaborator permission', () =>
        this.octokit.rest.repos.getCollaboratorPermissionLevel({ ...this.repo, username: login }),
      );
      return roleOf(data);
    } catch (e) {
      if (e instanceof GitHubError && e.status === 404) return 'none';
      throw e;
    }
  }

  async react(commentId: number, content: Reaction): Promise<void> {
    await this.call('reaction', () =>
      this.octokit.rest.reactions.createForIssueComment({ ...this.repo, comment_id: commentId, content }),
    );
  }

  /** Writes a comment on an issue or pull request; returns its URL. */
  async comment(issue: number, body: string): Promise<string> {
    const data = await this.call('comment', () =>
      this.octokit.rest.issues.createComment({ ...this.repo, issue_number: issue, body }),
    );
    return data.html_url;
  }

  async pull(number: number): Promise<PullRequest> {
    const data = await this.call('pull request', () =>
      this.octokit.rest.pulls.get({ ...this.repo, pull_number: number }),
    );
    const headRepo = data.head.repo?.full_name ?? '';
    const baseRepo = data.base.repo.full_name;
    return {
      number: data.number,
      state: data.state,
      headSha: data.head.sha,
      headRepo,
      baseRepo,
      // GitHub compares owner and name case-insensitively.
      fork: headRepo.toLowerCase() !== baseRepo.toLowerCase(),
    };
  }

  /** When the commit was committed (the time git records, as GitHub reports it). */
  async commitDate(sha: string): Promise<string | undefined> {
    const data = await this.call('commit', () =>
      this.octokit.rest.repos.getCommit({ ...this.repo, ref: sha }),
    );
    return data.commit.committer?.date ?? data.commit.author?.date;
  }

  async createDeployment(o: {
    ref: string;
    environment: string;
    description: string;
    payload: Record<string, unknown>;
    /** A preview: transient, and never production. */
    transient?: boolean;
    /** `production_environment`; undefined leaves GitHub's default (true only for an environment named production). */
    production?: boolean;
  }): Promise<number> {
    const transient = o.transient ?? false;
    const production = transient ? false : o.production;
    const data = await this.call<unknown>('create deployment', () =>
      this.octokit.rest.repos.createDeployment({
        ...this.repo,
        ref: o.ref,
        environment: o.environment,
        description: o.description,
        payload: o.payload as never,
        auto_merge: false,
        required_contexts: [],
        transient_environment: transient,
        ...(production !== undefined ? { production_environment: production } : {}),
      }),
    );
    const id = (data as { id?: number }).id;
    if (typeof id !== 'number')
      throw new GitHubError(202, `GitHub API create deployment: ${JSON.stringify(data).slice(0, 200)}`);
    return id;
  }

  async deploymentStatus(
    id: number,
    o: { state: DeploymentState; description: string; environmentUrl?: string; logUrl?: string },
  ): Promise<void> {
    await this.call('deployment status', () =>
      this.octokit.rest.repos.createDeploymentStatus({
        ...this.repo,
        deployment_id: id,
        state: o.state,
        description: o.description.slice(0, 140),
        ...(o.environmentUrl ? { environment_url: o.environmentUrl } : {}),
        ...(o.logUrl ? { log_url: o.logUrl } : {}),
        auto_inactive: false,
      }),
    );
  }
}
