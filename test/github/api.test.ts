// The GitHub client's time limit: a GitHub that does not answer never holds a run.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GitHubError } from '../../src/errors.ts';
import { GitHub } from '../../src/github/api.ts';

let silent: Server;
let url: string;
beforeAll(async () => {
  // Takes every request and never answers.
  silent = createServer((req) => req.resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(() => {
  silent.closeAllConnections();
  silent.close();
});

it('gives up on a request after its time limit, with an error naming the call', async () => {
  const gh = new GitHub('t0ken', { owner: 'o', repo: 'r' }, url, 300);
  const began = Date.now();
  const e = await gh.comment(7, 'hi').catch((x: unknown) => x);
  expect(e).toBeInstanceOf(GitHubError);
  expect((e as Error).message).toMatch(/^GitHub API comment: /);
  expect((e as Error).message).not.toContain('t0ken');
  expect(Date.now() - began).toBeLessThan(3000);
});
