// Which command a run carries out, decided from the event without I/O: the `command` input, the event's name,
// or a pull request comment such as `/canary promote 50`. A comment's text is only ever matched against this
// grammar; nothing of it is executed or passed to a shell.

import { InputError } from '../errors.ts';
import { COMMANDS, type Command, type GitHubInputs } from '../inputs.ts';

/** The commands a comment may carry (advance is for scheduled runs). */
export const COMMENT_COMMANDS = [
  'deploy',
  'promote',
  'rollback',
  'pause',
  'resume',
  'status',
  'help',
] as const;
export type CommentCommandName = (typeof COMMENT_COMMANDS)[number];

export type ParsedComment =
  /** Not addressed to the action: it does nothing and says nothing. */
  | { kind: 'none' }
  | { kind: 'command'; command: CommentCommandName; percent?: string; revision?: string; line: string }
  | { kind: 'invalid'; reason: string; line: string };

const PERCENT = /^(100|[1-9][0-9]?)%?$/;

/** Edit distance (insertions, deletions, substitutions) between two short words. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** The command a mistyped word most likely meant: within two edits (case aside), else none. */
export function closest(word: string, options: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { option: string; d: number } | undefined;
  for (const option of options) {
    const d = distance(w, option);
    if (d <= 2 && (!best || d < best.d)) best = { option, d };
  }
  return best?.option;
}
const REVISION = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The command in a comment: its first non-blank line is the prefix, a command and at most one argument. The
 * rest of the comment is free text for humans.
 */
export function parseComment(body: string, prefix: string): ParsedComment {
  const line = (body.split(/\r?\n/).find((l) => l.trim() !== '') ?? '').trim();
  if (line !== prefix && !line.startsWith(`${prefix} `) && !line.startsWith(`${prefix}\t`))
    return { kind: 'none' };
  const words = line.slice(prefix.length).trim().split(/\s+/).filter(Boolean);
  const [name = 'help', ...args] = words;
  // For the log: bounded, without control characters (a workflow command starts a line with `::`).
  const plain = [...line].map((c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? ' ' : c)).join('');
  const shown = plain.length > 80 ? `${plain.slice(0, 77)}...` : plain;
  if (!(COMMENT_COMMANDS as readonly string[]).includes(name)) {
    const near = closest(name, COMMENT_COMMANDS);
    const hint = near ? `; did you mean \`${prefix} ${near}\`?` : '';
    return { kind: 'invalid', reason: `\`${clip(name)}\` is not a command${hint}`, line: shown };
  }
  const command = name as CommentCommandName;
  const takes = command === 'promote' ? 'percent' : command === 'rollback' ? 'revision' : undefined;
  if (args.length > (takes ? 1 : 0)) {
    return {
      kind: 'invalid',
      reason: takes
        ? `\`${command}\` takes at most one argument, the ${takes}`
        : `\`${command}\` takes no arguments`,
      line: shown,
    };
  }
  const arg = args[0];
  if (arg !== undefined && takes === 'percent' && !PERCENT.test(arg)) {
    return { kind: 'invalid', reason: `\`${clip(arg)}\` is not a percent from 1 to 100`, line: shown };
  }
  if (arg !== undefined && takes === 'revision' && !REVISION.test(arg)) {
    return { kind: 'invalid', reason: `\`${clip(arg)}\` is not a revision name`, line: shown };
  }
  return {
    kind: 'command',
    command,
    line: shown,
    ...(arg !== undefined && takes === 'percent' ? { percent: arg } : {}),
    ...(arg !== undefined && takes === 'revision' ? { revision: arg } : {}),
  };
}

/** Quotes a word of a comment back safely: no backticks, no mentions, bounded length. */
function clip(word: string): string {
  const w = word.replace(/[`@]/g, '');
  return w.length > 30 ? `${w.slice(0, 27)}...` : w;
}

export interface CommentEvent {
  id: number;
  /** The issue or pull request number. */
  issue: number;
  isPullRequest: boolean;
  user: string;
  userType: string;
  /** ISO time the comment was written. */
  createdAt: string;
  action: string;
  body: string;
  htmlUrl?: string;
}

export type Dispatch =
  | {
      kind: 'run';
      command: Command;
      percent?: string;
      revision?: string;
      /** What decided the command. */
      source: 'input' | 'push' | 'workflow_dispatch' | 'schedule' | 'pull_request' | 'local';
      /** The pull request the event is about: the one whose preview `close` removes. */
      pr?: number;
    }
  | { kind: 'comment'; comment: CommentEvent; parsed: Exclude<ParsedComment, { kind: 'none' }> }
  /** Nothing to do, and nothing to say but a line in the log. */
  | { kind: 'ignore'; reason: string };

interface Payload {
  action?: string;
  inputs?: Record<string, unknown>;
  comment?: {
    id?: number;
    body?: string;
    created_at?: string;
    html_url?: string;
    user?: { login?: string; type?: string };
  };
  issue?: { number?: number; pull_request?: unknown };
  number?: number;
  pull_request?: { number?: number };
}

/** The events about one pull request, which `close` takes the pull request's number from. */
const PULL_REQUEST_EVENTS = ['pull_request', 'pull_request_target'];

export function dispatch(
  eventName: string,
  payload: unknown,
  gh: Pick<GitHubInputs, 'command' | 'commandPrefix'>,
): Dispatch {
  const p = (payload ?? {}) as Payload;
  if (eventName === 'issue_comment') {
    // A comment decides for itself whatever the `command` input says: its author's permission is checked.
    const c = p.comment;
    if (!c || typeof c.id !== 'number' || typeof p.issue?.number !== 'number') {
      return { kind: 'ignore', reason: 'the issue_comment event carries no comment' };
    }
    if (p.action !== 'created') {
      return {
        kind: 'ignore',
        reason: `the comment was ${p.action ?? 'changed'}: commands run only from new comments`,
      };
    }
    const parsed = parseComment(c.body ?? '', gh.commandPrefix);
    if (parsed.kind === 'none')
      return { kind: 'ignore', reason: `the comment is not a ${gh.commandPrefix} command` };
    if (c.user?.type === 'Bot') {
      return {
        kind: 'ignore',
        reason: `the comment is by a bot (${c.user.login ?? 'unknown'}): bots cannot run commands`,
      };
    }
    return {
      kind: 'comment',
      parsed,
      comment: {
        id: c.id,
        issue: p.issue.number,
        isPullRequest: p.issue.pull_request !== undefined && p.issue.pull_request !== null,
        user: c.user?.login ?? '',
        userType: c.user?.type ?? 'User',
        createdAt: c.created_at ?? '',
        action: p.action,
        body: c.body ?? '',
        htmlUrl: c.html_url,
      },
    };
  }
  const pr = PULL_REQUEST_EVENTS.includes(eventName) ? (p.pull_request?.number ?? p.number) : undefined;
  if (gh.command !== 'auto') {
    if (gh.command === 'close' && pr === undefined) throw closeNeedsPullRequest(eventName);
    return { kind: 'run', command: gh.command, source: 'input', ...(pr !== undefined ? { pr } : {}) };
  }
  switch (eventName) {
    case 'push':
      return { kind: 'run', command: 'deploy', source: 'push' };
    case '':
      // Outside a workflow (a local run, @github/local-action without an event): as a push.
      return { kind: 'run', command: 'deploy', source: 'local' };
    case 'schedule':
      return { kind: 'run', command: 'advance', source: 'schedule' };
    case 'pull_request':
    case 'pull_request_target':
      // A closed pull request's preview is torn down; any other change to a pull request is not for auto.
      if (p.action === 'closed') {
        if (pr === undefined)
          return { kind: 'ignore', reason: `the ${eventName} event carries no pull request` };
        return { kind: 'run', command: 'close', source: 'pull_request', pr };
      }
      throw new InputError(
        'command',
        `is auto, and a ${eventName} event does not say which command to run, except when the pull request is ` +
          `closed (this one is "${p.action ?? ''}"): trigger on ${eventName} with types: [closed] to remove its ` +
          `preview, or set command (one of ${COMMANDS.join(', ')})`,
      );
    case 'workflow_dispatch': {
      const inputs = p.inputs ?? {};
      const text = typeof inputs.command === 'string' && inputs.command !== '' ? inputs.command : 'deploy';
      if (!COMMANDS.includes(text as Command)) {
        throw new InputError(
          'command',
          `the workflow_dispatch input command "${text}" is not a command: expected one of ${COMMANDS.join(', ')}`,
        );
      }
      if (text === 'close') throw closeNeedsPullRequest(eventName);
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
      return {
        kind: 'run',
        command: text as Command,
        source: 'workflow_dispatch',
        ...(str(inputs.percent) ? { percent: str(inputs.percent) } : {}),
        ...(str(inputs.revision) ? { revision: str(inputs.revision) } : {}),
      };
    }
    default:
      throw new InputError(
        'command',
        `is auto, and a ${eventName} event does not say which command to run: set command ` +
          `(one of ${COMMANDS.join(', ')}), or run on push, workflow_dispatch, issue_comment, schedule or ` +
          'pull_request closed',
      );
  }
}

function closeNeedsPullRequest(eventName: string): InputError {
  return new InputError(
    'command',
    `is close, which removes the preview of the pull request the event is about, and a ${eventName || 'local'} ` +
      'run is about no pull request: run it on pull_request (types: [closed])',
  );
}

/** The help text a `help` command and an invalid command reply with. */
export function usage(prefix: string): string {
  return [
    '| Command | What it does |',
    '|---|---|',
    `| \`${prefix} deploy\` | Deploys this pull request's head commit as a preview revision at 0%, under tag \`pr-<number>\` |`,
    `| \`${prefix} promote [PERCENT]\` | Sends PERCENT (default 100) of traffic to the candidate now |`,
    `| \`${prefix} rollback [REVISION]\` | Puts all traffic back on the stable revision (or on REVISION) |`,
    `| \`${prefix} pause\` | Holds the rollout's traffic where it is; scheduled runs leave it alone |`,
    `| \`${prefix} resume\` | Resumes a paused rollout or a preview: its steps go on |`,
    `| \`${prefix} status\` | Replies with the rollout's state and traffic |`,
    `| \`${prefix} help\` | This table |`,
  ].join('\n');
}
