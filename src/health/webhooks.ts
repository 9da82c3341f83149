// Webhooks as Flagger users know them: pre-rollout, rollout, confirm-promotion, rollback, post-rollout. The action
// POSTs a JSON payload; what a 2xx means depends on the type and is up to the caller.

import { request, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../duration.ts';
import { InputError } from '../inputs.ts';
import { agent } from './http.ts';

export const WEBHOOK_TYPES = [
  'pre-rollout',
  'rollout',
  'confirm-promotion',
  'rollback',
  'post-rollout',
] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

export interface Webhook {
  name: string;
  type: WebhookType;
  url: URL;
  timeoutMs: number;
  /** Extra attempts after the first, on a transport error, a timeout, 429 or 5xx. */
  retries: number;
  headers: Record<string, string>;
  metadata: Record<string, string>;
}

export interface WebhookPayload {
  /** The Service. */
  name: string;
  namespace: string;
  phase: WebhookType;
  candidate: string;
  stable: string[];
  /** 1-based step; 0 before the first. */
  step: number;
  steps: number;
  percent: number;
  run?: string;
  metadata: Record<string, string>;
}

export interface WebhookResult {
  hook: Webhook;
  /** A 2xx answer. */
  ok: boolean;
  /** 0: no answer (transport error, timeout, cancelled). */
  status: number;
  attempts: number;
  latencyMs: number;
  detail: string;
}

const KEYS = ['name', 'type', 'url', 'timeout', 'retries', 'headers', 'metadata'];

function fail(msg: string): never {
  throw new InputError('webhooks', msg);
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(`${where} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean')
      fail(`${where}.${k} must be a string`);
    out[k] = String(val);
  }
  return out;
}

export function parseWebhooks(text: string): Webhook[] {
  if (text.trim() === '') return [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    fail(`not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc)) fail('expected a YAML list of webhooks, each with name, type and url');
  const names = new Set<string>();
  return doc.map((raw: unknown, i): Webhook => {
    const at = `webhook ${i + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      fail(`${at} must be a map with name, type and url`);
    const h = raw as Record<string, unknown>;
    const name = typeof h.name === 'string' ? h.name.trim() : '';
    if (!name) fail(`${at} needs a name`);
    const where = `${at} (${name})`;
    for (const k of Object.keys(h))
      if (!KEYS.includes(k)) fail(`${where} has unknown key "${k}": expected ${KEYS.join(', ')}`);
    if (names.has(name)) fail(`${where}: the name is used twice`);
    names.add(name);
    if (!WEBHOOK_TYPES.includes(h.type as WebhookType))
      fail(`${where} has type ${JSON.stringify(h.type)}: expected one of ${WEBHOOK_TYPES.join(', ')}`);
    let url: URL;
    try {
      url = new URL(String(h.url ?? ''));
    } catch {
      fail(`${where} has url ${JSON.stringify(h.url)}: expected an http:// or https:// URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      fail(`${where} has url ${JSON.stringify(h.url)}: expected an http:// or https:// URL`);
    const timeoutMs = h.timeout === undefined ? 10_000 : parseDuration(String(h.timeout));
    if (timeoutMs === undefined || timeoutMs <= 0)
      fail(`${where} has timeout ${JSON.stringify(h.timeout)}: expected a duration like 10s`);
    const retries = h.retries === undefined ? 2 : Number(h.retries);
    if (!Number.isInteger(retries) || retries < 0 || retries > 10)
      fail(`${where} has retries ${JSON.stringify(h.retries)}: expected a whole number from 0 to 10`);
    return {
      name,
      type: h.type as WebhookType,
      url,
      timeoutMs,
      retries,
      headers: stringMap(h.headers, `${where} headers`),
      metadata: stringMap(h.metadata, `${where} metadata`),
    };
  });
}

/**
 * The URL as logged: its origin only. Userinfo and query strings hold secrets, and so do paths (a chat webhook's
 * path is its token); the hook's name says which one it is.
 */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}/${url.pathname === '/' && !url.search ? '' : '…'}`;
}

export function describeWebhook(hook: Webhook): string {
  return `${hook.name} (${hook.type}) → ${safeUrl(hook.url)}`;
}

const retryable = (status: number) => status === 0 || status === 429 || status >= 500;
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function callWebhook(
  hook: Webhook,
  payload: WebhookPayload,
  opts: {
    signal?: AbortSignal;
    dispatcher?: Dispatcher;
    sleep?: (ms: number) => Promise<void>;
    backoffMs?: number;
  } = {},
): Promise<WebhookResult> {
  const body = JSON.stringify({ ...payload, metadata: { ...payload.metadata, ...hook.metadata } });
  const began = performance.now();
  let attempts = 0;
  let status = 0;
  let reason: string;
  let excerpt = '';
  for (;;) {
    if (opts.signal?.aborted) {
      reason = 'cancelled';
      break;
    }
    attempts++;
    const timeout = AbortSignal.timeout(hook.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      const res = await request(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'knative-canary-action',
          ...hook.headers,
        },
        body,
        dispatcher: opts.dispatcher ?? agent(),
        signal,
      });
      status = res.statusCode;
      const text = await res.body.text().catch(() => '');
      excerpt = status >= 200 && status < 300 ? '' : text.trim().replace(/\s+/g, ' ').slice(0, 200);
      reason = '';
    } catch (e) {
      status = 0;
      const err = e as Error & { code?: string; cause?: { code?: string } };
      reason = opts.signal?.aborted
        ? 'cancelled'
        : timeout.aborted
          ? `timed out after ${hook.timeoutMs / 1000} s`
          : (err.code ?? err.cause?.code ?? err.message);
    }
    if (!retryable(status) || attempts > hook.retries || opts.signal?.aborted) break;
    await (opts.sleep ?? sleepMs)((opts.backoffMs ?? 500) * 2 ** (attempts - 1));
  }
  const ok = status >= 200 && status < 300;
  const answer = status ? String(status) : reason;
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return {
    hook,
    ok,
    status,
    attempts,
    latencyMs: performance.now() - began,
    detail: `POST ${safeUrl(hook.url)} → ${answer}${tries}${excerpt ? `: ${excerpt}` : ''}`,
  };
}

/** Every hook of a type, at once; results in the hooks' order. */
export function callWebhooks(
  hooks: Webhook[],
  type: WebhookType,
  payload: WebhookPayload,
  opts: Parameters<typeof callWebhook>[2] = {},
): Promise<WebhookResult[]> {
  return Promise.all(hooks.filter((h) => h.type === type).map((h) => callWebhook(h, payload, opts)));
}
