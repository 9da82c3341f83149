// Parsers of single input values (names, booleans, durations, numbers, URLs), shared by the section parsers.
// Each error names the input and what was expected.

import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function dnsLabel(input: string, value: string, what: string): string {
  if (!DNS1035.test(value) || value.length > 63) {
    throw new InputError(
      input,
      `"${value}" is not a valid ${what}: expected a DNS-1035 label (lower-case letters, digits and '-', ` +
        `starting with a letter, ending with a letter or digit, at most 63 characters)`,
    );
  }
  return value;
}

export function parseBoolean(input: string, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new InputError(input, `"${value}" is not a boolean: expected true or false`);
}

export function parseDurationInput(input: string, value: string, fallback: string): number {
  const text = value === '' ? fallback : value;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new InputError(
      input,
      `"${text}" is not a duration: expected a positive duration like 30s, 5m, 1h or 1m30s (a bare number is seconds)`,
    );
  }
  return ms;
}

export function parseNumber(input: string, value: string, min: number, max: number, what: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new InputError(input, `"${value}" is not ${what}`);
  }
  return n;
}

export function parseLatency(text: string): number {
  const n = Number(text.replace(/ms$/, ''));
  if (!/^\d/.test(text) || !Number.isFinite(n) || n < 1 || n > 3_600_000) {
    throw new InputError('max-latency-p99', `"${text}" is not a latency in milliseconds, like 500`);
  }
  return n;
}

/** A gateway's base URL (`gateway`, `local-gateway`); undefined when empty. */
export function parseGateway(input: string, text: string): URL | undefined {
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(
      input,
      `"${text}" is not a URL: expected a base URL like http://10.0.0.1 or https://gw.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(input, `"${text}" must be an http:// or https:// URL`);
  }
  return url;
}
