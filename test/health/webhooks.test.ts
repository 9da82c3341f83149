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
const instant = { sleep: () => Promise.resolve() };

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
  });

  it.each([
    ['name: x', 'expected a YAML list of webhooks'],
    ['- [1', 'not valid YAML'],
    ['- type: rollout\n  url: http://a', 'webhook 1 needs a name'],
    [
      '- { name: a, type: deploy, url: "http://a" }',
      'webhook 1 (a) has type "deploy": expected one of pre-rollout',
    ],
    [
      '- { name: a, type: rollout, url: "ftp://a" }',
      'webhook 1 (a) has url "ftp://a": expected an http:// or https:// URL',
    ],
    ['- { name: a, type: rollout, url: "nope" }', 'webhook 1 (a) has url "nope"'],
    [
      '- { name: a, type: rollout, url: "http://a", timeout: soon }',
      'has timeout "soon": expected a duration like 10s',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", retries: 11 }',
      'has retries 11: expected a whole number from 0 to 10',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", headers: { X: [1] } }',
      'webhook 1 (a) headers.X must be a string',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", metadata: [] }',
      'webhook 1 (a) metadata must be a map of strings',
    ],
    [
      '- { name: a, type: rollout, url: "http://a", cmd: x }',
      'has unknown key "cmd": expected name, type, url',
    ],
    [
      '- { name: a, type: rollout, url: "http://a" }\n- { name: a, type: rollback, url: "http://b" }',
      'webhook 2 (a): the name is used twice',
    ],
  ])('rejects %j', (text, message) => {
    expect(() => parseWebhooks(text)).toThrow(`Input 'webhooks': `);
    expect(() => parseWebhooks(text)).toThrow(message);
  });
});

describe('callWebhook', () => {
  it('POSTs the payload as JSON with the hook metadata merged in, and its headers', async () => {
    let got: { body: unknown; type?: string; auth?: string } | undefined;
    const url = await server((req, body, res) => {
      got = { body: JSON.parse(body), type: req.headers['content-type'], auth: req.headers.authorization };
      res.end('ok');
    });
    const r = await callWebhook(
      hook(url, { headers: { authorization: 'Bearer s3cret' }, metadata: { team: 'web' } }),
      { ...payload, metadata: { run: '1' } },
    );
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 1 });
    expect(got).toEqual({
      body: { ...payload, metadata: { run: '1', team: 'web' } },
      type: 'application/json',
      auth: 'Bearer s3cret',
    });
    expect(r.detail).not.toContain('s3cret');
  });

  it('retries a 5xx and succeeds on the next attempt', async () => {
    let n = 0;
    const url = await server((_q, _b, res) => res.writeHead(++n === 1 ? 503 : 200).end());
    const r = await callWebhook(hook(url), payload, instant);
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 2 });
  });

  it('does not retry a 4xx, and quotes the start of the body', async () => {
    let n = 0;
    const url = await server((_q, _b, res) => (n++, res.writeHead(403).end(`frozen ${'x'.repeat(300)}`)));
    const r = await callWebhook(hook(url), payload, instant);
    expect(n).toBe(1);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/ → 403: frozen x+$/);
    expect(r.detail.length).toBeLessThan(260);
  });

  it('gives up after its retries with the last answer', async () => {
    const url = await server((_q, _b, res) => res.writeHead(500).end());
    const r = await callWebhook(hook(url, { retries: 2 }), payload, instant);
    expect(r).toMatchObject({ ok: false, status: 500, attempts: 3 });
    expect(r.detail).toContain('→ 500 after 3 attempts');
  });

  it('times out a hook that never answers', async () => {
    const url = await server(() => undefined);
    const r = await callWebhook(hook(url, { timeoutMs: 200, retries: 0 }), payload);
    expect(r).toMatchObject({ ok: false, status: 0, attempts: 1 });
    expect(r.detail).toContain('timed out after 0.2 s');
  });

  it('reports a refused connection', async () => {
    const r = await callWebhook(hook('http://127.0.0.1:1/', { retries: 1 }), payload, instant);
    expect(r).toMatchObject({ ok: false, status: 0, attempts: 2 });
    expect(r.detail).toContain('ECONNREFUSED');
  });

  it('stops at once when cancelled', async () => {
    const url = await server(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const began = Date.now();
    const r = await callWebhook(hook(url, { timeoutMs: 5000, retries: 3 }), payload, { signal: ac.signal });
    expect(Date.now() - began).toBeLessThan(1000);
    expect(r).toMatchObject({ ok: false, attempts: 1 });
    expect(r.detail).toContain('cancelled');
  });
});

describe('callWebhooks and describeWebhook', () => {
  it('calls the hooks of one type at once, answering in their order', async () => {
    const url = await server((req, _b, res) => setTimeout(() => res.end(req.url), 300));
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
    expect(rs.map((r) => r.hook.name)).toEqual(['a', 'b']);
  });

  it('shows the origin only: userinfo, query and path may all hold secrets', () => {
    const h = hook('https://user:pw@hooks.example.com/services/T0/B0/s3cret?token=abc');
    expect(describeWebhook(h)).toBe('h (rollout) → https://hooks.example.com/…');
    expect(describeWebhook(hook('https://hooks.example.com'))).toBe(
      'h (rollout) → https://hooks.example.com/',
    );
  });
});
