// Webhooks as Flagger users know them: pre-rollout, rollout, confirm-promotion, rollback, post-rollout. The action
// POSTs a JSON payload; what a 2xx means depends on the type and is up to the caller.

import { request, type Dispatcher } from 'undici';
import { isScalar, parseDocument, type Document } from 'yaml';
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
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
  /** May carry userinfo, sent as basic authentication (unless the headers have an Authorization). */
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
  /** The last attempt's status; 0: no answer (transport error, timeout, cancelled). */
  status: number;
  attempts: number;
  /** From the first attempt to the last answer, backoff included. */
  latencyMs: number;
  /** One line for the log, without header values, userinfo, query or path. */
  detail: string;
}

export interface WebhookCallOptions {
  /** Stops the call and any further attempts at once. */
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  /** Waits between attempts (for tests); the signal still cuts a wait short. */
  sleep?: (ms: number) => Promise<void>;
  /** The first wait between attempts, doubled each time (up to 30 s). Default 500 ms. */
  backoffMs?: number;
}

const KEYS = ['name', 'type', 'url', 'timeout', 'retries', 'headers', 'metadata'];
/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_BACKOFF_MS = 30_000;
/** How much of a failed hook's body is read, for the excerpt. */
const EXCERPT_BYTES = 4096;
const EXCERPT_CHARS = 200;

function fail(msg: string): never {
  throw new InputError('webhooks', msg);
}

/**
 * A scalar as the user wrote it: `1.10` stays "1.10" and `007` stays "007" (YAML would read them as numbers);
 * undefined for null, lists and maps.
 */
function text(doc: Document, path: unknown[], value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'number' && typeof value !== 'boolean') return undefined;
  const node = doc.getIn(path, true);
  return isScalar(node) && typeof node.source === 'string' ? node.source : String(value);
}

function stringMap(
  doc: Document,
  path: unknown[],
  v: unknown,
  where: string,
  isHeaders: boolean,
): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(`${where} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const s = text(doc, [...path, k], val);
    // The value is never quoted in a message: header values are credentials more often than not.
    if (s === undefined) fail(`${where}.${k} must be a string`);
    if (isHeaders && !TOKEN.test(k)) fail(`${where} has ${JSON.stringify(k)}, which is not a header name`);
    if (isHeaders && /[\r\n\0]/.test(s)) fail(`${where}.${k} must be one line`);
    out[k] = s;
  }
  return out;
}

function decodes(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

export function parseWebhooks(input: string): Webhook[] {
  if (input.trim() === '') return [];
  const doc = parseDocument(input);
  if (doc.errors.length) fail(`not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  let list: unknown;
  try {
    list = doc.toJS();
  } catch (e) {
    fail(`not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(list)) fail('expected a YAML list of webhooks, each with name, type and url');
  const names = new Set<string>();
  return list.map((raw: unknown, i): Webhook => {
    const at = `webhook ${i + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      fail(`${at} must be a map with name, type and url`);
    const h = raw as Record<string, unknown>;
    const name = text(doc, [i, 'name'], h.name)?.trim() ?? '';
    if (!name) fail(`${at} needs a name`);
    const where = `${at} (${name})`;
    for (const k of Object.keys(h))
      if (!KEYS.includes(k)) fail(`${where} has unknown key "${k}": expected ${KEYS.join(', ')}`);
    if (names.has(name)) fail(`${where}: the name is used twice`);
    names.add(name);
    if (h.type === undefined) fail(`${where} needs a type: one of ${WEBHOOK_TYPES.join(', ')}`);
    if (!WEBHOOK_TYPES.includes(h.type as WebhookType))
      fail(`${where} has type ${JSON.stringify(h.type)}: expected one of ${WEBHOOK_TYPES.join(', ')}`);
    if (h.url === undefined || h.url === null || h.url === '')
      fail(`${where} needs a url: an http:// or https:// URL`);
    let url: URL;
    try {
      url = new URL(String(h.url));
    } catch {
      fail(`${where} has url ${JSON.stringify(h.url)}: expected an http:// or https:// URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      fail(`${where} has url ${JSON.stringify(h.url)}: expected an http:// or https:// URL`);
    if (!decodes(url.username) || !decodes(url.password))
      fail(`${where} has a url whose user or password is not valid percent-encoding`);
    const timeoutText = text(doc, [i, 'timeout'], h.timeout);
    const timeoutMs = h.timeout === undefined ? 10_000 : parseDuration(timeoutText ?? '');
    if (timeoutMs === undefined || timeoutMs <= 0)
      fail(`${where} has timeout ${JSON.stringify(h.timeout)}: expected a duration like 10s`);
    const retries =
      h.retries === undefined
        ? 2
        : (typeof h.retries === 'number' && Number.isInteger(h.retries)) ||
            (typeof h.retries === 'string' && /^\d+$/.test(h.retries.trim()))
          ? Number(h.retries)
          : NaN;
    if (!(retries >= 0 && retries <= 10))
      fail(`${where} has retries ${JSON.stringify(h.retries)}: expected a whole number from 0 to 10`);
    return {
      name,
      type: h.type as WebhookType,
      url,
      timeoutMs,
      retries,
      headers: stringMap(doc, [i, 'headers'], h.headers, `${where} headers`, true),
      metadata: stringMap(doc, [i, 'metadata'], h.metadata, `${where} metadata`, false),
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

/** What goes on the wire: the URL without userinfo (undici would drop it silently) and the headers. */
function wire(hook: Webhook): { url: string; headers: Record<string, string>; secrets: string[] } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'knative-canary-action',
  };
  const secrets: string[] = [];
  let url = hook.url.href;
  if (hook.url.username || hook.url.password) {
    const bare = new URL(hook.url.href);
    bare.username = '';
    bare.password = '';
    url = bare.href;
    const user = decodeURIComponent(hook.url.username);
    const password = decodeURIComponent(hook.url.password);
    const token = Buffer.from(`${user}:${password}`).toString('base64');
    headers.authorization = `Basic ${token}`;
    secrets.push(password, token);
  }
  for (const [k, v] of Object.entries(hook.headers)) {
    headers[k.toLowerCase()] = v;
    // `Bearer xyz`: an echo of the token alone is as bad as one of the whole value.
    secrets.push(v, ...v.trim().split(/\s+/).slice(1));
  }
  return { url, headers, secrets: secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length) };
}

/** The start of a body, on one line, with anything sent as a credential blanked out. */
async function excerpt(body: AsyncIterable<Buffer>, secrets: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= EXCERPT_BYTES) break;
    }
  } catch {
    // A body cut short (timeout, reset) still says what it said.
  }
  let s = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
  for (const secret of secrets) s = s.replaceAll(secret, '***');
  return s.trim().replace(/\s+/g, ' ').slice(0, EXCERPT_CHARS);
}

const retryable = (status: number) => status === 0 || status === 429 || status >= 500;

/** Waits ms, or less when the signal aborts. */
function pause(ms: number, signal?: AbortSignal, sleep?: (ms: number) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    signal?.addEventListener('abort', done, { once: true });
    if (sleep) sleep(ms).then(done, done);
    else timer = setTimeout(done, ms);
  });
}

export async function callWebhook(
  hook: Webhook,
  payload: WebhookPayload,
  opts: WebhookCallOptions = {},
): Promise<WebhookResult> {
  const body = JSON.stringify({ ...payload, metadata: { ...payload.metadata, ...hook.metadata } });
  const { url, headers, secrets } = wire(hook);
  const began = performance.now();
  let attempts = 0;
  let status = 0;
  let reason = '';
  let said = '';
  let cancelled = false;
  for (;;) {
    if (opts.signal?.aborted) {
      cancelled = true;
      break;
    }
    attempts++;
    said = '';
    const timeout = AbortSignal.timeout(hook.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: opts.dispatcher ?? agent(),
        signal,
      });
      status = res.statusCode;
      if (status >= 200 && status < 300) await res.body.dump().catch(() => undefined);
      else said = await excerpt(res.body, secrets);
    } catch (e) {
      status = 0;
      const err = e as { code?: string; cause?: { code?: string }; message?: string } | undefined;
      if (opts.signal?.aborted) cancelled = true;
      reason = timeout.aborted
        ? `timed out after ${hook.timeoutMs / 1000} s`
        : (err?.code ?? err?.cause?.code ?? String(err?.message ?? e).split('\n')[0]!);
    }
    if (!retryable(status) || attempts > hook.retries) break;
    if (opts.signal?.aborted) {
      cancelled = true;
      break;
    }
    const wait = Math.min((opts.backoffMs ?? 500) * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    await pause(wait, opts.signal, opts.sleep);
  }
  const ok = status >= 200 && status < 300;
  const answer = cancelled
    ? status
      ? `${status}, then cancelled`
      : 'cancelled'
    : status
      ? `${status}`
      : reason;
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return {
    hook,
    ok,
    status,
    attempts,
    latencyMs: performance.now() - began,
    detail: `POST ${safeUrl(hook.url)} → ${answer}${tries}${said && !ok ? `: ${said}` : ''}`,
  };
}

/** Every hook of a type, at once; results in the hooks' order. */
export function callWebhooks(
  hooks: Webhook[],
  type: WebhookType,
  payload: WebhookPayload,
  opts: WebhookCallOptions = {},
): Promise<WebhookResult[]> {
  return Promise.all(hooks.filter((h) => h.type === type).map((h) => callWebhook(h, payload, opts)));
}
