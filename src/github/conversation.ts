// A comment command's conversation: who may run it, the pull request it deploys, the reactions (eyes on
// start, rocket on success, -1 on failure) and the reply. The replies are plain functions so that tests can
// assert them word for word.

import * as core from '@actions/core';
import type { GitHubInputs } from '../inputs.ts';
import type { GitHub, Reaction, Role } from './api.ts';
import { usage, type CommentEvent, type ParsedComment } from './commands.ts';

const NOTHING = 'Nothing was done.';

export const replies = {
  notPullRequest: (c: CommentEvent, prefix: string) =>
    `🚫 @${c.user}, \`${prefix}\` commands work on pull requests only, and #${c.issue} is an issue. ${NOTHING}`,
  notAllowed: (c: CommentEvent, command: string, allowed: readonly Role[], role: string, repo: string) =>
    `🚫 @${c.user}, \`${command}\` needs ${listOr(allowed)} permission on ${repo}, and yours is ${role}. ${NOTHING}`,
  invalid: (c: CommentEvent, reason: string, prefix: string) =>
    `🤔 @${c.user}, ${reason}. ${NOTHING}\n\n${usage(prefix)}`,
  closed: (c: CommentEvent) =>
    `🚫 @${c.user}, #${c.issue} is closed: only an open pull request is deployed. ${NOTHING}`,
  /** `headRepo` '' is a fork since deleted. */
  fork: (c: CommentEvent, headRepo: string) =>
    `🚫 @${c.user}, #${c.issue} comes from ${headRepo ? `the fork ${headRepo}` : 'a fork that was deleted'}, ` +
    `and this workflow does not deploy forks ` +
    `(input \`allow-forks\`). ${NOTHING}`,
  newerCommit: (c: CommentEvent, sha: string, date: string) =>
    `🚫 @${c.user}, the head of #${c.issue} is now \`${sha.slice(0, 7)}\`, committed at ${date}, after your ` +
    `comment (${c.createdAt}). Look at it, then comment again to deploy it. ${NOTHING}`,
  help: (prefix: string) => `Commands, on a pull request:\n\n${usage(prefix)}`,
};

function listOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** The command as the action understood it, for replies: never the comment's own text. */
export function canonical(prefix: string, parsed: Extract<ParsedComment, { kind: 'command' }>): string {
  return [prefix, parsed.command, parsed.percent ?? parsed.revision].filter(Boolean).join(' ');
}

export type Authorization =
  | { ok: false; reply: string }
  | {
      ok: true;
      parsed: Extract<ParsedComment, { kind: 'command' }>;
      /** A deploy: the pull request's head commit, deployed as a preview. */
      preview?: { pr: number; sha: string };
    };

export class Conversation {
  private reacted = new Set<Reaction>();

  constructor(
    readonly gh: GitHub,
    readonly comment: CommentEvent,
    readonly inputs: Pick<GitHubInputs, 'commandPrefix' | 'permissions' | 'allowForks'>,
  ) {}

  /** Reacts; a reaction that fails is a warning, never a failed command. */
  async react(content: Reaction): Promise<void> {
    if (this.reacted.has(content)) return;
    try {
      await this.gh.react(this.comment.id, content);
      this.reacted.add(content);
    } catch (e) {
      core.warning(`Could not react ${content} to the comment: ${(e as Error).message}`);
    }
  }

  /** Replies on the pull request; returns the reply's URL. */
  async reply(body: string): Promise<string | undefined> {
    try {
      return await this.gh.comment(this.comment.issue, body);
    } catch (e) {
      core.warning(`Could not reply to the comment: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * Whether the command may run, in order: on a pull request, by a user with one of the allowed permissions,
   * well formed, and for a deploy, an open pull request whose head was committed before the comment, not from
   * a fork unless allowed.
   */
  async authorize(parsed: Exclude<ParsedComment, { kind: 'none' }>): Promise<Authorization> {
    const c = this.comment;
    const { commandPrefix: prefix } = this.inputs;
    if (!c.isPullRequest) return { ok: false, reply: replies.notPullRequest(c, prefix) };
    const role = await this.gh.role(c.user);
    const repo = `${this.gh.repo.owner}/${this.gh.repo.repo}`;
    if (!(this.inputs.permissions as readonly string[]).includes(role)) {
      const command = parsed.kind === 'command' ? canonical(prefix, parsed) : prefix;
      core.info(
        `@${c.user} has ${role} permission on ${repo}; allowed: ${this.inputs.permissions.join(', ')}.`,
      );
      return { ok: false, reply: replies.notAllowed(c, command, this.inputs.permissions, role, repo) };
    }
    if (parsed.kind === 'invalid') return { ok: false, reply: replies.invalid(c, parsed.reason, prefix) };
    if (parsed.command !== 'deploy') return { ok: true, parsed };
    const pull = await this.gh.pull(c.issue);
    if (pull.state !== 'open') return { ok: false, reply: replies.closed(c) };
    // A head in another repository than the base, or in one since deleted, is a fork's.
    if (pull.fork) {
      if (!this.inputs.allowForks) return { ok: false, reply: replies.fork(c, pull.headRepo) };
    }
    // A commit that reached the pull request after the comment was not what the commenter looked at.
    const date = await this.gh.commitDate(pull.headSha);
    if (date && c.createdAt && Date.parse(date) > Date.parse(c.createdAt)) {
      return { ok: false, reply: replies.newerCommit(c, pull.headSha, date) };
    }
    return { ok: true, parsed, preview: { pr: c.issue, sha: pull.headSha } };
  }
}
