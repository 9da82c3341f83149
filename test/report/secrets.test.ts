// What the log hides (src/report/secrets.ts): credentials, and nothing else.

import { expect, it } from 'vitest';
import { secretHeaderValues, secretUrlValues } from '../../src/report/secrets.ts';

it('masks authorization, cookies, tokens and keys, with the credential after its scheme', () => {
  expect(
    secretHeaderValues({
      authorization: 'Bearer eyJhbGciOi.abc',
      cookie: 'session=s3cr3t',
      'x-api-key': 'k-123',
      'X-Auth-Token': 't-456',
      'x-vault-secret': 'v-789',
    }),
  ).toEqual(['Bearer eyJhbGciOi.abc', 'eyJhbGciOi.abc', 'session=s3cr3t', 'k-123', 't-456', 'v-789']);
});

it('leaves plain headers alone: masking `acme` would hide every mention of it in the log', () => {
  expect(secretHeaderValues({ 'x-org': 'acme', accept: 'application/json', 'user-agent': 'ci' })).toEqual([]);
  expect(secretHeaderValues({ authorization: ' ' })).toEqual([]);
});

it("masks a URL's password, decoded, and not its user name", () => {
  expect(secretUrlValues(new URL('https://bot:p%40ss@prometheus.example.com/'))).toEqual(['p@ss']);
  expect(secretUrlValues(new URL('https://bot@prometheus.example.com/'))).toEqual([]);
  expect(secretUrlValues(undefined)).toEqual([]);
});
