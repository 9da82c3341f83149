// Checks recorded GitHub REST requests, and the fake's answers to them, against GitHub's OpenAPI description of
// api.github.com (@octokit/openapi): the method and path are an operation, the path and query parameters are
// ones it takes, the body has its required properties with the documented types and values, and the fake
// answered with a status the operation documents and, for a success, the properties its schema requires.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RecordedRequest } from './github.ts';

interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  maxLength?: number;
  nullable?: boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
}
interface Parameter {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { $ref?: string; required?: boolean; content?: Record<string, { schema: Schema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }>;
}
interface Description {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
}

let loaded: Description | undefined;
/** The description, read once (13 MB of JSON; not the package's index, which loads every variant). */
export function description(): Description {
  const require = createRequire(import.meta.url);
  loaded ??= JSON.parse(
    readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8'),
  ) as Description;
  return loaded;
}

function deref<T>(x: T & { $ref?: string }): T {
  let v: unknown = x;
  for (let i = 0; i < 20 && (v as { $ref?: string }).$ref; i++) {
    const ref = (v as { $ref: string }).$ref;
    const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(ref) ?? [];
    v = description().components[kind!]?.[name!];
    if (v === undefined) throw new Error(`unresolved ${ref}`);
  }
  return v as T;
}

/** The operation a request is: its path template and operation, with the path parameters' values. */
export function operationFor(
  method: string,
  path: string,
): { template: string; op: Operation; params: Record<string, string> } | undefined {
  const segments = path.split('/');
  for (const [template, ops] of Object.entries(description().paths)) {
    const op = ops[method.toLowerCase()];
    if (!op) continue;
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    if (
      parts.every((p, i) => {
        const m = /^\{(.+)\}$/.exec(p);
        if (m) {
          params[m[1]!] = decodeURIComponent(segments[i]!);
          return segments[i] !== '';
        }
        return p === segments[i];
      })
    )
      return { template, op, params };
  }
  return undefined;
}

function types(s: Schema): string[] {
  const t = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  return s.nullable ? [...t, 'null'] : t;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** What is wrong with `value` against `schema`, one level of properties deep (enough for these bodies). */
function checkValue(where: string, value: unknown, schema: Schema, problems: string[]): void {
  const s = deref(schema);
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) {
    const fits = alternatives.some((alt) => {
      const p: string[] = [];
      checkValue(where, value, alt, p);
      return p.length === 0;
    });
    if (!fits) problems.push(`${where}: ${JSON.stringify(value)} fits none of the alternatives`);
    return;
  }
  const t = types(s);
  const actual = typeOf(value);
  if (t.length && !t.includes(actual) && !(actual === 'integer' && t.includes('number')))
    problems.push(`${where}: a ${actual}, where the description says ${t.join(' or ')}`);
  if (s.enum && !s.enum.includes(value))
    problems.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.maxLength !== undefined && typeof value === 'string' && value.length > s.maxLength)
    problems.push(`${where}: longer than ${s.maxLength} characters`);
}

function checkObject(
  where: string,
  value: unknown,
  schema: Schema,
  problems: string[],
  o: { unknown: boolean },
): void {
  const s = deref(schema);
  if (typeOf(value) !== 'object') {
    problems.push(`${where}: not an object`);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const r of s.required ?? []) if (!(r in obj)) problems.push(`${where}: lacks the required "${r}"`);
  for (const [k, v] of Object.entries(obj)) {
    const prop = s.properties?.[k];
    if (!prop) {
      if (o.unknown && s.properties && s.additionalProperties !== true)
        problems.push(`${where}: "${k}" is not a property the description has`);
      continue;
    }
    checkValue(`${where}.${k}`, v, prop, problems);
  }
}

/**
 * The operations whose answers the fake keeps to the fields the action reads (a pull request's head and base, a
 * commit's dates): their responses are not checked for the many properties GitHub's schema requires.
 */
export const FAKE_ANSWERS_IN_PART: ReadonlySet<string> = new Set(['pulls/get', 'repos/get-commit']);

/**
 * Everything about `r` that GitHub's description does not allow; empty when it conforms. A failure injected
 * with failNext is not held to the documented statuses, and the responses of FAKE_ANSWERS_IN_PART not to their
 * required properties.
 */
export function conformance(r: RecordedRequest): string[] {
  const problems: string[] = [];
  const at = `${r.method} ${r.path}`;
  const found = operationFor(r.method, r.path);
  if (!found) return [`${at}: no such operation in GitHub's description`];
  const { op, params } = found;
  const where = `${at} (${op.operationId})`;
  const parameters = (op.parameters ?? []).map((p) => deref(p));
  for (const p of parameters.filter((x) => x.in === 'path'))
    if (p.schema)
      checkValue(`${where} path ${p.name}`, coerce(params[p.name]!, p.schema), p.schema, problems);
  for (const [k, v] of Object.entries(r.query)) {
    const p = parameters.find((x) => x.in === 'query' && x.name === k);
    if (!p) problems.push(`${where}: query parameter "${k}" is not one it takes`);
    else if (p.schema) checkValue(`${where} query ${k}`, coerce(v, p.schema), p.schema, problems);
  }
  for (const p of parameters.filter((x) => x.in === 'query' && x.required))
    if (!(p.name in r.query)) problems.push(`${where}: lacks the required query parameter "${p.name}"`);

  const body = op.requestBody && deref(op.requestBody);
  const bodySchema = body?.content?.['application/json']?.schema;
  if (bodySchema) {
    if (r.body === undefined) {
      if (body!.required) problems.push(`${where}: no body, where one is required`);
    } else checkObject(`${where} body`, r.body, bodySchema, problems, { unknown: true });
  } else if (r.body !== undefined && r.body !== '') {
    problems.push(`${where}: a body, where the operation takes none`);
  }

  if (r.status !== undefined && !r.injected) {
    const documented = Object.keys(op.responses);
    if (!documented.includes(String(r.status)) && !documented.includes('default'))
      problems.push(`${where}: answered ${r.status}, where the description has ${documented.join(', ')}`);
    const response = op.responses[String(r.status)];
    const schema = response && deref(response).content?.['application/json']?.schema;
    if (schema && r.status < 300 && !FAKE_ANSWERS_IN_PART.has(op.operationId)) {
      const s = deref(schema);
      const items = s.type === 'array' && Array.isArray(r.response) ? r.response : [r.response];
      const itemSchema = s.type === 'array' && s.items ? s.items : schema;
      items.forEach((item, i) =>
        checkObject(`${where} response${s.type === 'array' ? `[${i}]` : ''}`, item, itemSchema, problems, {
          unknown: false,
        }),
      );
    }
  }
  return problems;
}

/** A path or query parameter as the type its schema says. */
function coerce(v: string, schema: Schema): unknown {
  const t = types(deref(schema));
  if ((t.includes('integer') || t.includes('number')) && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (t.includes('boolean') && (v === 'true' || v === 'false')) return v === 'true';
  return v;
}
