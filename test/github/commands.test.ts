import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dispatch, parseComment, usage } from '../../src/github/commands.ts';
import { InputError } from '../../src/errors.ts';
import { pullRequestPayload } from '../support/events.ts';

const gh = { command: 'auto' as const, commandPrefix: '/canary' };

describe('parseComment', () => {
  it.each([
    ['/canary deploy', { command: 'deploy' }],
    ['/canary promote', { command: 'promote' }],
    ['/canary promote 25', { command: 'promote', percent: '25' }],
    ['/canary promote 100%', { command: 'promote', percent: '100%' }],
    ['/canary rollback', { command: 'rollback' }],
    ['/canary rollback hello-abc1234', { command: 'rollback', revision: 'hello-abc1234' }],
    ['/canary pause', { command: 'pause' }],
    ['/canary resume', { command: 'resume' }],
    ['/canary status', { command: 'status' }],
    ['/canary help', { command: 'help' }],
    ['/canary', { command: 'help' }],
    ['\n\n  /canary   promote\t50  \nLooks good to me, shipping.', { command: 'promote', percent: '50' }],
  ])('reads %j', (body, want) => {
    expect(parseComment(body, '/canary')).toMatchObject({ kind: 'command', ...want });
  });

  it.each(['', 'LGTM', '/canaryx deploy', 'please /canary deploy', '> /canary deploy', '/deploy'])(
    'leaves %j alone: not addressed to the action',
    (body) => {
      expect(parseComment(body, '/canary')).toEqual({ kind: 'none' });
    },
  );

  it.each([
    ['/canary ship', '`ship` is not a command'],
    ['/canary advance', '`advance` is not a command'],
    ['/canary deploy now', '`deploy` takes no arguments'],
    ['/canary promote 0', '`0` is not a percent from 1 to 100'],
    ['/canary promote 101', '`101` is not a percent from 1 to 100'],
    ['/canary promote 50 100', '`promote` takes at most one argument, the percent'],
    ['/canary rollback $(rm -rf /)', '`rollback` takes at most one argument, the revision'],
    ['/canary rollback ../etc', '`../etc` is not a revision name'],
    ['/canary status `whoami`', '`status` takes no arguments'],
    ['/canary @admin', '`admin` is not a command'],
    ['/canary promot 50', '`promot` is not a command; did you mean `/canary promote`?'],
    ['/canary Rollback', '`Rollback` is not a command; did you mean `/canary rollback`?'],
    ['/canary stauts', '`stauts` is not a command; did you mean `/canary status`?'],
  ])('refuses %j: %s', (body, reason) => {
    expect(parseComment(body, '/canary')).toEqual(expect.objectContaining({ kind: 'invalid', reason }));
  });

  it('never quotes more than 30 characters of a word, nor backticks or mentions', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (word) => {
        const p = parseComment(`/canary ${word}`, '/canary');
        if (p.kind !== 'invalid') return;
        const quoted = /`([^`]*)`/.exec(p.reason)?.[1] ?? '';
        expect(quoted.length).toBeLessThanOrEqual(30);
        expect(quoted).not.toMatch(/[`@]/);
      }),
    );
  });

  it('keeps control characters and length out of the line it logs', () => {
    const p = parseComment(`/canary status\r::add-mask::x ${'y'.repeat(100)}`, '/canary');
    expect(p.kind).toBe('invalid');
    if (p.kind !== 'none') {
      expect(p.line).not.toMatch(/[\r\n\t]/);
      expect(p.line.length).toBeLessThanOrEqual(80);
    }
  });

  it('reads only the first line: the rest of a comment is never a command', () => {
    expect(parseComment('/canary status\n/canary rollback', '/canary')).toMatchObject({ command: 'status' });
  });

  it('works with another prefix', () => {
    expect(parseComment('.deploy promote 10', '.deploy')).toMatchObject({
      command: 'promote',
      percent: '10',
    });
    expect(parseComment('/canary promote 10', '.deploy')).toEqual({ kind: 'none' });
  });
});

describe('dispatch', () => {
  const comment = (over: Record<string, unknown> = {}, user: Record<string, unknown> = {}) => ({
    action: 'created',
    issue: { number: 7, pull_request: { url: 'x' } },
    comment: {
      id: 99,
      body: '/canary promote 50',
      created_at: '2026-11-28T10:00:00Z',
      user: { login: 'octocat', type: 'User', ...user },
    },
    ...over,
  });

  it('lets the event decide when command is auto', () => {
    expect(dispatch('push', {}, gh)).toEqual({ kind: 'run', command: 'deploy', source: 'push' });
    expect(dispatch('schedule', {}, gh)).toEqual({ kind: 'run', command: 'advance', source: 'schedule' });
    expect(dispatch('', {}, gh)).toEqual({ kind: 'run', command: 'deploy', source: 'local' });
    expect(dispatch('workflow_dispatch', { inputs: {} }, gh)).toMatchObject({ command: 'deploy' });
    expect(
      dispatch('workflow_dispatch', { inputs: { command: 'promote', percent: '25', revision: '' } }, gh),
    ).toEqual({ kind: 'run', command: 'promote', percent: '25', source: 'workflow_dispatch' });
  });

  it('refuses an event that names no command, and a workflow_dispatch command it does not know', () => {
    expect(() => dispatch('pull_request', {}, gh)).toThrow(InputError);
    expect(() => dispatch('pull_request', {}, gh)).toThrow(
      "Input 'command': is auto, and a pull_request event does not say which command to run",
    );
    expect(() => dispatch('workflow_dispatch', { inputs: { command: 'ship' } }, gh)).toThrow(
      `Input 'command': the workflow_dispatch input command "ship" is not a command`,
    );
  });

  it('removes the preview of a pull request that was closed, and takes no other pull_request event', () => {
    for (const name of ['pull_request', 'pull_request_target']) {
      expect(dispatch(name, pullRequestPayload({ number: 7 }), gh)).toEqual({
        kind: 'run',
        command: 'close',
        source: 'pull_request',
        pr: 7,
      });
      expect(dispatch(name, pullRequestPayload({ number: 7, merged: true }), gh)).toMatchObject({
        command: 'close',
        pr: 7,
      });
    }
    expect(() => dispatch('pull_request', pullRequestPayload({ action: 'opened' }), gh)).toThrow(
      `Input 'command': is auto, and a pull_request event does not say which command to run, except when the ` +
        `pull request is closed (this one is "opened"): trigger on pull_request with types: [closed] to remove ` +
        'its preview, or set command',
    );
    expect(dispatch('pull_request', { action: 'closed' }, gh)).toEqual({
      kind: 'ignore',
      reason: 'the pull_request event carries no pull request',
    });
  });

  it('runs close only for an event about a pull request', () => {
    const close = { ...gh, command: 'close' as const };
    expect(dispatch('pull_request', pullRequestPayload({ action: 'opened', number: 9 }), close)).toEqual({
      kind: 'run',
      command: 'close',
      source: 'input',
      pr: 9,
    });
    expect(() => dispatch('push', {}, close)).toThrow(
      "Input 'command': is close, which removes the preview of the pull request the event is about, and a push " +
        'run is about no pull request: run it on pull_request (types: [closed])',
    );
    expect(() => dispatch('workflow_dispatch', { inputs: { command: 'close' } }, gh)).toThrow(
      'and a workflow_dispatch run is about no pull request',
    );
    // Another command on a pull request event keeps the number, which nothing but close reads.
    expect(dispatch('pull_request', pullRequestPayload({ number: 9 }), { ...gh, command: 'status' })).toEqual(
      { kind: 'run', command: 'status', source: 'input', pr: 9 },
    );
  });

  it('takes the command input over the event, but never over a comment', () => {
    expect(dispatch('schedule', {}, { ...gh, command: 'status' })).toMatchObject({ command: 'status' });
    expect(dispatch('issue_comment', comment(), { ...gh, command: 'status' })).toMatchObject({
      kind: 'comment',
      parsed: { command: 'promote', percent: '50' },
    });
  });

  it('reads a pull request comment', () => {
    expect(dispatch('issue_comment', comment(), gh)).toEqual({
      kind: 'comment',
      parsed: { kind: 'command', command: 'promote', percent: '50', line: '/canary promote 50' },
      comment: {
        id: 99,
        issue: 7,
        isPullRequest: true,
        user: 'octocat',
        userType: 'User',
        createdAt: '2026-11-28T10:00:00Z',
        action: 'created',
        body: '/canary promote 50',
        htmlUrl: undefined,
      },
    });
    expect(dispatch('issue_comment', comment({ issue: { number: 8 } }), gh)).toMatchObject({
      comment: { isPullRequest: false },
    });
  });

  it('ignores edited and deleted comments, bots, and comments that are not commands', () => {
    expect(dispatch('issue_comment', comment({ action: 'edited' }), gh)).toEqual({
      kind: 'ignore',
      reason: 'the comment was edited: commands run only from new comments',
    });
    expect(dispatch('issue_comment', comment({ action: 'deleted' }), gh).kind).toBe('ignore');
    expect(dispatch('issue_comment', comment({}, { type: 'Bot', login: 'dependabot[bot]' }), gh)).toEqual({
      kind: 'ignore',
      reason: 'the comment is by a bot (dependabot[bot]): bots cannot run commands',
    });
    const lgtm = comment();
    lgtm.comment.body = 'LGTM';
    expect(dispatch('issue_comment', lgtm, gh)).toEqual({
      kind: 'ignore',
      reason: 'the comment is not a /canary command',
    });
  });

  it('lists every comment command in the help', () => {
    for (const c of [
      'deploy',
      'promote [PERCENT]',
      'rollback [REVISION]',
      'pause',
      'resume',
      'status',
      'help',
    ])
      expect(usage('/canary')).toContain(`\`/canary ${c}\``);
  });
});
