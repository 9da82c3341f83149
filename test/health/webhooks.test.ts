// Webhooks over real HTTP against local servers: parsing, payload, retries, timeouts, and what reaches the log.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callWebhook,
  callWebhooks,
  describeWebhook,
  parseWebhooks,
  type Webhook,
  type WebhookPayload,
} from '../../src/health/webhooks.ts';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function server(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<string> {
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

/** A port that was just free: nothing listens there. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const hook = (url: string, over: Partial<Webhook> = {}): Webhook => ({
  ...parseWebhooks(`- { name: h, type: rollout, url: "${url}" }`)[0]!,
  ...over,
});

const payload: WebhookPayload = {
  name: 'hello',
  namespace: 'default',
  phase: 'rollout',
  candidate: 'hello-v2',
  stable: ['hello-v1'],
  step: 1,
  steps: 3,
  percent: 10,
  metadata: {},
};

/** Backoff that takes no time, and remembers what it was asked to wait. */
function instant() {
  const waits: number[] = [];
  return { waits, sleep: (ms: number) => (waits.push(ms), Promise.resolve()) };
}

describe('parseWebhooks', () => {
  it('reads a list with defaults', () => {
    const [h] = parseWebhooks('- name: gate\n  type: pre-rollout\n  url: https://x.example.com/a');
    expect(h).toEqual({
      name: 'gate',
      type: 'pre-rollout',
      url: new URL('https://x.example.com/a'),
      timeoutMs: 10_000,
      retries: 2,
      headers: {},
      metadata: {},
    });
    expect(parseWebhooks('  ')).toEqual([]);
    expect(parseWebhooks('')).toEqual([]);
  });

  it('reads every field, each type, and JSON as well as YAML', () => {
    const hooks = parseWebhooks(
      [
        '- name: a',
        '  type: rollout',
        '  url: http://a.example.com/x?y=1',
        '  timeout: 1m30s',
        '  retries: 0',
        '  headers: { Authorization: Bearer xyz, X-Count: 3 }',
        '  metadata: { cmd: "hey -z 1m", version: 1.10, zero: 007, flag: true }',
        ...['pre-rollout', 'confirm-promotion', 'rollback', 'post-rollout'].map(
          (t) => `- { name: ${t}, type: ${t}, url: "https://h/${t}", timeout: 5 }`,
        ),
      ].join('\n'),
    );
    expect(hooks[0]).toMatchObject({
      timeoutMs: 90_000,
      retries: 0,
      headers: { Authorization: 'Bearer xyz', 'X-Count': '3' },
      // Scalars as written: YAML would read 1.10 as 1.1 and 007 as 7.
      metadata: { cmd: 'hey -z 1m', version: '1.10', zero: '007', flag: 'true' },
    });
    expect(hooks.slice(1).map((h) => [h.type, h.timeoutMs])).toEqual([
      ['pre-rollout', 5000],
      ['confirm-promotion', 5000],
      ['rollback', 5000],
      ['post-rollout', 5000],
    ]);
    const json = parseWebhooks(
      JSON.stringify([{ name: 'j', type: 'rollback', url: 'https://h/j', retries: 3, timeout: '2s' }]),
    );
    expect(json[0]).toMatchObject({ name: 'j', retries: 3, timeoutMs: 2000 });
  });

  it.each([
    ['name: x', 'expected a YAML list of webhooks'],
    ['- [1', 'not valid YAML'],
    ['- just-a-string', 'webhook 1 must be a map with name, type and url'],
    ['- type: rollout\n  url: http://a', 'webhook 1 needs a name'],
    ['- { name: "", type: rollout, url: "http://a" }', 'webhook 1 needs a name'],
    [
      '- { name: a, type: deploy, url: "http://a" }',
      'webhook 1 (a) has type "deploy": expected one of pre-rollout, rollout, confirm-promotion, rollback, post-rollout',
    ],
    ['- { name: a, url: "http://a" }', 'webhook 1 (a) needs a type: one of pre-rollout'],
    ['- { name: a, type: rollout }', 'webhook 1 (a) needs a url: an http:// or https:// URL'],
    [
      '- { name: a, type: rollout, url: "ftp://a" }',
      'webhook 1 (a) has url "ftp://a": expected an http:// or https:// URL',
    ],
    ['- { name: a, type: rollout, url: "nope" }', 'webhook 1 (a) has url "nope"'],
    [
      '- { name: a, type: rollout, url: "http://u:%zz@a" }',
      'webhook 1 (a) has a url whose user or password is not valid percent-encoding',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", timeout: soon }',
      'webhook 1 (a) has timeout "soon": expected a duration like 10s',
    ],
    ['- { name: a, type: rollout, url: "http://a", timeout: 0s }', 'webhook 1 (a) has timeout "0s"'],
    [
      '- { name: a, type: rollout, url: "http://a", retries: 11 }',
      'webhook 1 (a) has retries 11: expected a whole number from 0 to 10',
    ],
    ['- { name: a, type: rollout, url: "http://a", retries: -1 }', 'webhook 1 (a) has retries -1'],
    ['- { name: a, type: rollout, url: "http://a", retries: 1.5 }', 'webhook 1 (a) has retries 1.5'],
    ['- { name: a, type: rollout, url: "http://a", retries: true }', 'webhook 1 (a) has retries true'],
    ['- { name: a, type: rollout, url: "http://a", retries: }', 'webhook 1 (a) has retries null'],
    [
      '- { name: a, type: rollout, url: "http://a", headers: { X: [1] } }',
      'webhook 1 (a) headers.X must be a string',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", headers: { X: } }',
      'webhook 1 (a) headers.X must be a string',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", headers: { "X Y": z } }',
      'webhook 1 (a) headers has "X Y", which is not a header name',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", headers: { X: "a\\nb" } }',
      'webhook 1 (a) headers.X must be one line',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", headers: "Authorization: x" }',
      'webhook 1 (a) headers must be a map of strings',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", metadata: [] }',
      'webhook 1 (a) metadata must be a map of strings',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", metadata: { k: { nested: v } } }',
      'webhook 1 (a) metadata.k must be a string',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", cmd: x }',
      'webhook 1 (a) has unknown key "cmd": expected name, type, url, timeout, retries, headers, metadata',
    ],
    [
      '- { name: a, type: rollout, url: "http://a" }\n- { name: a, type: rollback, url: "http://b" }',
      'webhook 2 (a): the name is used twice',
    ],
  ])('rejects %j', (text, message) => {
    expect(() => parseWebhooks(text)).toThrow(`Input 'webhooks': ${message}`);
  });

  it('never quotes a header value in an error', () => {
    expect(() =>
      parseWebhooks('- { name: a, type: rollout, url: "http://a", headers: { X: "s3cret\\nmore" } }'),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cret') }));
  });
});

describe('callWebhook', () => {
  it('POSTs the payload as JSON with the hook metadata merged in, and its headers', async () => {
    let got: { method?: string; body: unknown; type?: string; agent?: string; auth?: string } | undefined;
    const url = await server((req, body, res) => {
      got = {
        method: req.method,
        body: JSON.parse(body),
        type: req.headers['content-type'],
        agent: req.headers['user-agent'],
        auth: req.headers.authorization,
      };
      res.end('ok');
    });
    const r = await callWebhook(
      hook(url, { headers: { Authorization: 'Bearer s3cret' }, metadata: { team: 'web', run: 'hook' } }),
      { ...payload, run: 'https://ci/1', metadata: { run: '1', step: 'one' } },
    );
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 1 });
    expect(got).toEqual({
      method: 'POST',
      body: { ...payload, run: 'https://ci/1', metadata: { run: 'hook', step: 'one', team: 'web' } },
      type: 'application/json',
      agent: 'knative-canary-action',
      auth: 'Bearer s3cret',
    });
    expect(r.detail).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/ → 200$/);
    expect(r.detail).not.toContain('s3cret');
  });

  it('sends userinfo as basic authentication, not in the URL, and keeps it out of the detail', async () => {
    let got: { auth?: string; url?: string } | undefined;
    const url = await server((req, _b, res) => {
      got = { auth: req.headers.authorization, url: req.url };
      res.writeHead(401).end('no');
    });
    const r = await callWebhook(
      hook(url.replace('//', '//bot:p%40ss@') + '/hook?token=t0ken'),
      payload,
      instant(),
    );
    expect(got).toEqual({
      auth: `Basic ${Buffer.from('bot:p@ss').toString('base64')}`,
      url: '/hook?token=t0ken',
    });
    expect(r.detail).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/… → 401: no$/);
  });

  it('lets an Authorization header win over userinfo', async () => {
    let auth: string | undefined;
    const url = await server((req, _b, res) => ((auth = req.headers.authorization), res.end()));
    await callWebhook(
      hook(url.replace('//', '//bot:pw@'), { headers: { authorization: 'Token abc' } }),
      payload,
    );
    expect(auth).toBe('Token abc');
  });

  it('retries a 500 and succeeds on the next attempt', async () => {
    let n = 0;
    const url = await server((_q, _b, res) => res.writeHead(++n === 1 ? 500 : 200).end());
    const backoff = instant();
    const r = await callWebhook(hook(url), payload, backoff);
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 2 });
    expect(r.detail).toMatch(/→ 200 after 2 attempts$/);
    expect(backoff.waits).toEqual([500]);
  });

  it('retries a 429', async () => {
    let n = 0;
    const url = await server((_q, _b, res) => res.writeHead(++n === 1 ? 429 : 204).end());
    const r = await callWebhook(hook(url), payload, instant());
    expect(r).toMatchObject({ ok: true, status: 204, attempts: 2 });
  });

  it.each([400, 403, 404])('does not retry a %i', async (code) => {
    let n = 0;
    const url = await server((_q, _b, res) => (n++, res.writeHead(code).end()));
    const r = await callWebhook(hook(url), payload, instant());
    expect(n).toBe(1);
    expect(r).toMatchObject({ ok: false, status: code, attempts: 1 });
    expect(r.detail).toMatch(new RegExp(`→ ${code}$`));
  });

  it('quotes the start of a failing body, on one line', async () => {
    const url = await server((_q, _b, res) =>
      res.writeHead(403).end(`  not now:\n  release   freeze ${'x'.repeat(300)}`),
    );
    const r = await callWebhook(hook(url), payload, instant());
    const quoted = r.detail.slice(r.detail.indexOf('→ 403: ') + '→ 403: '.length);
    expect(quoted).toMatch(/^not now: release freeze x+$/);
    expect(quoted).toHaveLength(200);
  });

  it('reads no more of a huge failing body than it quotes from', async () => {
    const url = await server((_q, _b, res) => {
      res.writeHead(500);
      const chunk = 'y'.repeat(64 * 1024);
      const more = () => {
        while (res.write(chunk));
        res.once('drain', more);
      };
      more();
    });
    const r = await callWebhook(hook(url, { retries: 0 }), payload);
    expect(r).toMatchObject({ ok: false, status: 500 });
    expect(r.detail).toMatch(/→ 500: y{200}$/);
  });

  it('blanks out header values and userinfo a failing hook echoes back', async () => {
    const url = await server((req, _b, res) =>
      res
        .writeHead(401)
        .end(
          `bad credentials: ${req.headers.authorization} (${req.headers.authorization?.split(' ')[1]}) / ` +
            `${req.headers['x-api-key']}`,
        ),
    );
    const r = await callWebhook(
      hook(url, { headers: { Authorization: 'Bearer tok-123456', 'X-Api-Key': 'k3y-k3y' } }),
      payload,
    );
    expect(r.detail).toMatch(/→ 401: bad credentials: \*\*\* \(\*\*\*\) \/ \*\*\*$/);
    const basic = await callWebhook(hook(url.replace('//', '//bot:hunter22@')), payload);
    expect(basic.detail).toMatch(/→ 401: bad credentials: Basic \*\*\* \(\*\*\*\) \/ undefined$/);
  });

  it('gives up after its retries with the last answer, doubling the backoff', async () => {
    const url = await server((_q, _b, res) => res.writeHead(503).end('busy'));
    const backoff = instant();
    const r = await callWebhook(hook(url, { retries: 3 }), payload, { ...backoff, backoffMs: 100 });
    expect(r).toMatchObject({ ok: false, status: 503, attempts: 4 });
    expect(r.detail).toMatch(/→ 503 after 4 attempts: busy$/);
    expect(backoff.waits).toEqual([100, 200, 400]);
  });

  it('caps the backoff at 30 s', async () => {
    const url = await server((_q, _b, res) => res.writeHead(503).end());
    const backoff = instant();
    await callWebhook(hook(url, { retries: 3 }), payload, { ...backoff, backoffMs: 20_000 });
    expect(backoff.waits).toEqual([20_000, 30_000, 30_000]);
  });

  it('times out a hook that never answers', async () => {
    const url = await server(() => undefined);
    const r = await callWebhook(hook(url, { timeoutMs: 200, retries: 0 }), payload);
    expect(r).toMatchObject({ ok: false, status: 0, attempts: 1 });
    expect(r.detail).toMatch(/→ timed out after 0\.2 s$/);
    expect(r.latencyMs).toBeGreaterThanOrEqual(150);
  });

  it('retries a timeout', async () => {
    let n = 0;
    const url = await server((_q, _b, res) => (++n === 1 ? undefined : res.end()));
    const r = await callWebhook(hook(url, { timeoutMs: 200, retries: 1 }), payload, instant());
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 2 });
  });

  it('reports a refused connection, retried', async () => {
    const port = await closedPort();
    const r = await callWebhook(hook(`http://127.0.0.1:${port}/`, { retries: 1 }), payload, instant());
    expect(r).toMatchObject({ ok: false, status: 0, attempts: 2 });
    expect(r.detail).toMatch(/→ ECONNREFUSED after 2 attempts$/);
  });

  it('stops at once when cancelled during a request', async () => {
    const url = await server(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const began = Date.now();
    const r = await callWebhook(hook(url, { timeoutMs: 5000, retries: 3 }), payload, { signal: ac.signal });
    expect(Date.now() - began).toBeLessThan(1000);
    expect(r).toMatchObject({ ok: false, status: 0, attempts: 1 });
    expect(r.detail).toMatch(/→ cancelled$/);
  });

  it('stops at once when cancelled during the backoff', async () => {
    const ac = new AbortController();
    const url = await server((_q, _b, res) => (res.writeHead(503).end(), setTimeout(() => ac.abort(), 20)));
    const began = Date.now();
    const r = await callWebhook(hook(url, { retries: 3 }), payload, { signal: ac.signal, backoffMs: 10_000 });
    expect(Date.now() - began).toBeLessThan(1000);
    expect(r).toMatchObject({ ok: false, status: 503, attempts: 1 });
    expect(r.detail).toMatch(/→ 503, then cancelled$/);
  });

  it('does not call at all when already cancelled', async () => {
    let n = 0;
    const url = await server((_q, _b, res) => (n++, res.end()));
    const r = await callWebhook(hook(url), payload, { signal: AbortSignal.abort() });
    expect(n).toBe(0);
    expect(r).toMatchObject({ ok: false, status: 0, attempts: 0 });
    expect(r.detail).toMatch(/→ cancelled$/);
  });
});

describe('callWebhooks and describeWebhook', () => {
  it('calls the hooks of one type at once, answering in their order', async () => {
    const paths: string[] = [];
    const url = await server((req, _b, res) => {
      paths.push(req.url!);
      // The first hook answers last.
      setTimeout(() => res.end(), req.url === '/a' ? 300 : 250);
    });
    const hooks = parseWebhooks(
      [
        `- { name: a, type: rollout, url: "${url}/a" }`,
        `- { name: skip, type: rollback, url: "${url}/skip" }`,
        `- { name: b, type: rollout, url: "${url}/b" }`,
      ].join('\n'),
    );
    const began = Date.now();
    const rs = await callWebhooks(hooks, 'rollout', payload);
    expect(Date.now() - began).toBeLessThan(550);
    expect(rs.map((r) => [r.hook.name, r.ok])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(paths.sort()).toEqual(['/a', '/b']);
    expect(await callWebhooks(hooks, 'post-rollout', payload)).toEqual([]);
  });

  it('shows the origin only: userinfo, query and path may all hold secrets', () => {
    const h = hook('https://user:pw@hooks.example.com/services/T0/B0/s3cret?token=abc');
    expect(describeWebhook(h)).toBe('h (rollout) → https://hooks.example.com/…');
    expect(describeWebhook(hook('https://hooks.example.com?token=abc'))).toBe(
      'h (rollout) → https://hooks.example.com/…',
    );
    expect(describeWebhook(hook('https://hooks.example.com:8443'))).toBe(
      'h (rollout) → https://hooks.example.com:8443/',
    );
  });
});
