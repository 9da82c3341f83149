import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  ConcurrentChange,
  GitHubError,
  InputError,
  isExpected,
  KubeError,
  PlanError,
  RolloutFailed,
  TimeoutError,
  TrafficRefused,
  TransportError,
} from '../src/errors.ts';

describe('isExpected', () => {
  it("is true for the action's own failures: bad input, a refused plan, the cluster's refusal, a rollout stopped", () => {
    expect(isExpected(new InputError('steps', 'expected a list'))).toBe(true);
    expect(isExpected(new PlanError('nothing to promote'))).toBe(true);
    expect(isExpected(new KubeError(403, 'forbidden', 'Forbidden'))).toBe(true);
    expect(isExpected(new KubeError(0, 'connection refused'))).toBe(true);
    expect(isExpected(new RolloutFailed('Rolled back hello-v2: 10% step failed'))).toBe(true);
    expect(isExpected(new ConcurrentChange('another run changed this rollout meanwhile'))).toBe(true);
    expect(
      isExpected(new TrafficRefused('RevisionMissing', 'Revision "x" failed to become ready.', 'x 100%')),
    ).toBe(true);
  });

  it('is false for anything else, errors of the action included, and for what merely looks alike', () => {
    expect(isExpected(new TimeoutError('timed out after 5s'))).toBe(false);
    expect(isExpected(new AbortedError())).toBe(false);
    expect(isExpected(new GitHubError(500, 'GitHub API reaction: 500'))).toBe(false);
    expect(isExpected(new TransportError('ECONNREFUSED'))).toBe(false);
    expect(isExpected(new Error('a bug'))).toBe(false);
    expect(isExpected(new TypeError('x is undefined'))).toBe(false);
    expect(isExpected({ name: 'InputError', message: "Input 'steps': expected a list" })).toBe(false);
    expect(isExpected('InputError')).toBe(false);
    expect(isExpected(undefined)).toBe(false);
    expect(isExpected(null)).toBe(false);
  });
});

describe('the errors', () => {
  it('keep their names and messages', () => {
    const input = new InputError('steps', 'expected a list');
    expect([input.name, input.message, input.input]).toEqual([
      'InputError',
      "Input 'steps': expected a list",
      'steps',
    ]);
    expect(new PlanError('p').name).toBe('PlanError');
    const kube = new KubeError(409, 'conflict', 'Conflict');
    expect([kube.name, kube.code, kube.reason, kube.message]).toEqual([
      'KubeError',
      409,
      'Conflict',
      'conflict',
    ]);
    expect([new AbortedError().name, new AbortedError().message]).toEqual(['AbortedError', 'cancelled']);
    expect(new GitHubError(404, 'not found').status).toBe(404);
    expect(new TransportError('reset').name).toBe('Error');
  });

  it('TimeoutError carries the object last seen, set by its constructor', () => {
    const last = { metadata: { name: 'hello' } };
    const e = new TimeoutError('timed out after 5s', last);
    expect([e.name, e.message, e.last]).toEqual(['TimeoutError', 'timed out after 5s', last]);
    expect(new TimeoutError('timed out').last).toBeUndefined();
    expect(e).toBeInstanceOf(Error);
  });
});
