// The health section of the inputs: where the probes go and what they send (gateways, smoke tests), the limits
// they are judged by, and the checks (Prometheus analysis, webhooks) that may roll back.

import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.ts';
import { parseAnalysis } from '../health/analysis-config.ts';
import type { SmokeTest } from '../health/smoke.ts';
import { parseWebhooks } from '../health/webhooks.ts';
import type { GetInput, Inputs } from './types.ts';
import { parseDurationInput, parseGateway, parseLatency, parseNumber } from './values.ts';

/** The gateways the probes go through, the smoke tests, and the candidate's error-rate and latency limits. */
export function parseProbes(
  get: GetInput,
): Pick<Inputs, 'gateway' | 'localGateway' | 'smokeTests' | 'maxErrorRate' | 'maxLatencyP99Ms' | 'probeRps'> {
  const gateway = parseGateway('gateway', get('gateway'));
  const localGateway = parseGateway('local-gateway', get('local-gateway'));

  const smokeTests = parseSmokeTests(get('smoke-tests'), get('smoke-path'));
  const maxErrorRate = parseNumber(
    'max-error-rate',
    get('max-error-rate') || '0.01',
    0,
    1,
    'a fraction from 0 to 1, like 0.01 for 1%',
  );
  const p99Text = get('max-latency-p99');
  const maxLatencyP99Ms = p99Text === '' || p99Text === 'off' ? undefined : parseLatency(p99Text);
  const probeRps = parseNumber(
    'probe-rps',
    get('probe-rps') || '10',
    0,
    1000,
    'a request rate from 0 to 1000 per second',
  );
  return { gateway, localGateway, smokeTests, maxErrorRate, maxLatencyP99Ms, probeRps };
}

/** How the evidence is judged: the error bound, the shortest step, the warm-up, how often and how many checks fail. */
export function parseJudging(
  get: GetInput,
): Pick<Inputs, 'alpha' | 'minIntervalMs' | 'warmupMs' | 'checkEveryMs' | 'failureThreshold'> {
  const alpha = parseNumber(
    'alpha',
    get('alpha') || '0.01',
    0.0001,
    0.2,
    'a probability from 0.0001 to 0.2, like 0.01 for 1%',
  );
  const minIntervalMs = parseDurationInput('min-interval', get('min-interval'), '30s');
  const warmupText = get('warmup');
  const warmupMs = /^(0+(ms|s|m)?|off)$/.test(warmupText)
    ? 0
    : parseDurationInput('warmup', warmupText, '30s');
  const checkEveryMs = parseDurationInput('check-every', get('check-every'), '15s');
  if (checkEveryMs < 1000) throw new InputError('check-every', `"${get('check-every')}" is shorter than 1s`);
  const failureThreshold = parseNumber(
    'failure-threshold',
    get('failure-threshold') || '1',
    1,
    100,
    'a whole number of failed checks from 1 to 100',
  );
  if (!Number.isInteger(failureThreshold)) {
    throw new InputError('failure-threshold', `"${get('failure-threshold')}" is not a whole number`);
  }
  return { alpha, minIntervalMs, warmupMs, checkEveryMs, failureThreshold };
}

/** The Prometheus analysis and the webhooks checked during each step. */
export function parseChecks(get: GetInput): Pick<Inputs, 'analysis' | 'webhooks'> {
  return { analysis: parseAnalysis(get('analysis')), webhooks: parseWebhooks(get('webhooks')) };
}

export function parseSmokeTests(value: string, smokePath: string): SmokeTest[] {
  const path = smokePath === '' ? '/' : smokePath;
  if (!path.startsWith('/')) throw new InputError('smoke-path', `"${path}" must start with '/'`);
  const fallback: SmokeTest = { path, method: 'GET', headers: {}, expectStatus: [200], retries: 2 };
  if (value === '') return [fallback];
  let doc: unknown;
  try {
    doc = parseYaml(value);
  } catch (e) {
    throw new InputError('smoke-tests', `is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc) || doc.length === 0) {
    throw new InputError('smoke-tests', 'expected a YAML list of tests, each with at least a path');
  }
  return doc.map((item, i): SmokeTest => {
    const where = `smoke-tests[${i}]`;
    if (typeof item === 'string') item = { path: item };
    if (typeof item !== 'object' || item === null)
      throw new InputError('smoke-tests', `${where} is not a map`);
    const t = item as Record<string, unknown>;
    const known = ['path', 'method', 'headers', 'body', 'status', 'expect-status', 'body-pattern', 'retries'];
    for (const k of Object.keys(t)) {
      if (!known.includes(k)) {
        throw new InputError('smoke-tests', `${where} has unknown key "${k}": expected ${known.join(', ')}`);
      }
    }
    if (typeof t.path !== 'string' || !t.path.startsWith('/')) {
      throw new InputError('smoke-tests', `${where}.path must be a string starting with '/'`);
    }
    const method = t.method === undefined ? 'GET' : String(t.method).toUpperCase();
    if (!/^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/.test(method)) {
      throw new InputError('smoke-tests', `${where}.method "${method}" is not an HTTP method`);
    }
    const headers: Record<string, string> = {};
    if (t.headers !== undefined) {
      if (typeof t.headers !== 'object' || t.headers === null || Array.isArray(t.headers)) {
        throw new InputError('smoke-tests', `${where}.headers must be a map of header names to values`);
      }
      for (const [k, v] of Object.entries(t.headers)) headers[k.toLowerCase()] = String(v);
    }
    const statusRaw = t['expect-status'] ?? t.status ?? 200;
    const expectStatus = (Array.isArray(statusRaw) ? statusRaw : [statusRaw]).map((s) => Number(s));
    if (expectStatus.some((s) => !Number.isInteger(s) || s < 100 || s > 599)) {
      throw new InputError('smoke-tests', `${where}.status must be an HTTP status code or a list of them`);
    }
    let bodyPattern: RegExp | undefined;
    if (t['body-pattern'] !== undefined) {
      try {
        bodyPattern = new RegExp(String(t['body-pattern']));
      } catch (e) {
        throw new InputError(
          'smoke-tests',
          `${where}.body-pattern is not a regular expression: ${(e as Error).message}`,
        );
      }
    }
    const retries = t.retries === undefined ? 2 : Number(t.retries);
    if (!Number.isInteger(retries) || retries < 0 || retries > 20) {
      throw new InputError('smoke-tests', `${where}.retries must be a whole number from 0 to 20`);
    }
    const body =
      t.body === undefined ? undefined : typeof t.body === 'string' ? t.body : JSON.stringify(t.body);
    return { path: t.path, method, headers, body, expectStatus, bodyPattern, retries };
  });
}
