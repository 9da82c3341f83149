// Reads and validates the action's inputs. Every problem is reported with the input's name and what was expected,
// before anything talks to the cluster.

import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseDuration } from './duration.ts';
import { InputError } from './errors.ts';
import { ROLES, type Role } from './github/api.ts';
import { parseAnalysis, type AnalysisConfig } from './health/prometheus.ts';
import type { SmokeTest } from './health/smoke.ts';
import { parseWebhooks, type Webhook } from './health/webhooks.ts';
import { checkTagLabel } from './knative/hosts.ts';
import type { Template } from './knative/types.ts';
import type { Step } from './rollout/state.ts';

// re-exported for src/shell.ts and src/main.ts until they move (issue 12)
export { InputError };
// re-exported for src/shell.ts and src/main.ts until they move (issue 12)
export type { Template };
// re-exported for src/shell.ts and src/main.ts until they move (issue 12)
export { describeSteps } from './rollout/state.ts';

export type Command = 'deploy' | 'promote' | 'rollback' | 'advance' | 'pause' | 'resume' | 'status' | 'help';
export const COMMANDS: readonly Command[] = [
  'deploy',
  'promote',
  'rollback',
  'advance',
  'pause',
  'resume',
  'status',
  'help',
];
export type Progression = 'inline' | 'scheduled';

export interface Inputs {
  command: Command;
  /** The Service of this run; with `services`, the first of them. Empty only for `advance` by annotation. */
  service: string;
  /** Every Service the command acts on, in order; empty for `advance` of every annotated Service. */
  services: string[];
  /** `promote`: the percent to send now (100 when not given). */
  percent?: number;
  progression: Progression;
  /** GitHub environment for Deployments; undefined: none. */
  environment?: string;
  namespace: string;
  /** The new image, or undefined when a manifest supplies the template. */
  image?: string;
  /** The template from `manifest`, when given. */
  manifestTemplate?: Template;
  manifestPath?: string;
  env: { name: string; value: string }[];
  revisionName: string;
  /** Whether `revision-name` was given (rollback then targets it). */
  revisionNameGiven: boolean;
  tag: string;
  /** Empty string: no stable tag. */
  stableTag: string;
  steps: Step[];
  intervalMs: number;
  timeoutMs: number;
  gateway?: URL;
  /** The cluster-local gateway, for the hosts of cluster-local Services. */
  localGateway?: URL;
  smokeTests: SmokeTest[];
  maxErrorRate: number;
  /** undefined: no latency limit. */
  maxLatencyP99Ms?: number;
  probeRps: number;
  /** Bound on the chance that the sequential judge rolls back a candidate no worse than the stable revision. */
  alpha: number;
  /** A step may pass before its dwell is over once this much of it has passed and the evidence is conclusive. */
  minIntervalMs: number;
  /** Latency evidence from the candidate's first warmupMs of probes is ignored (cold start). */
  warmupMs: number;
  /** How often Prometheus queries and rollout/rollback webhooks are checked during a step. */
  checkEveryMs: number;
  /** Failed checks (queries, webhooks) that roll back. */
  failureThreshold: number;
  analysis: AnalysisConfig;
  webhooks: Webhook[];
  kubeconfig?: string;
  context?: string;
  dryRun: boolean;
  /** Take a traffic split found on the Service as the baseline instead of stopping. */
  acceptSplit: boolean;
}

/** Reads one input; the runner passes them as INPUT_<NAME> (upper-cased, hyphens kept). */
export type GetInput = (name: string) => string;

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function dnsLabel(input: string, value: string, what: string): string {
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

function parseNumber(input: string, value: string, min: number, max: number, what: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new InputError(input, `"${value}" is not ${what}`);
  }
  return n;
}

function parseLatency(text: string): number {
  const n = Number(text.replace(/ms$/, ''));
  if (!/^\d/.test(text) || !Number.isFinite(n) || n < 1 || n > 3_600_000) {
    throw new InputError('max-latency-p99', `"${text}" is not a latency in milliseconds, like 500`);
  }
  return n;
}

/** `10,50,100`, `25:10m, 50, 100` (a step may carry its own dwell); 100 is appended when missing. */
export function parseSteps(value: string, intervalMs: number): Step[] {
  const text = value === '' ? '10,50,100' : value;
  const parts = text
    .split(/[,\s]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new InputError('steps', 'expected a list of percents like 10,50,100');
  const steps: Step[] = [];
  for (const part of parts) {
    const m = /^(\d+)%?(?::(.+))?$/.exec(part);
    if (!m) {
      throw new InputError(
        'steps',
        `"${part}" is not a step: expected a percent (1-100), optionally with a dwell as 25:10m`,
      );
    }
    const percent = Number(m[1]);
    if (percent < 1 || percent > 100) {
      throw new InputError('steps', `${percent} is out of range: each step must be a percent from 1 to 100`);
    }
    const prev = steps.at(-1);
    if (prev && percent <= prev.percent) {
      throw new InputError(
        'steps',
        `steps must increase: ${percent} comes after ${prev.percent} in "${text}"`,
      );
    }
    // A dwell on the 100% step is an explicit bake time before promotion; without one 100 promotes at once.
    const dwellMs =
      m[2] !== undefined ? parseDurationInput('steps', m[2], '') : percent === 100 ? 0 : intervalMs;
    steps.push({ percent, dwellMs });
  }
  if (steps.at(-1)!.percent !== 100) steps.push({ percent: 100, dwellMs: 0 });
  return steps;
}

/** Multiline `KEY=value` lines; blank lines and `#` comments are skipped. */
/** Env names Knative sets itself (pkg/apis/serving/k8s_validation.go reservedEnvVars). */
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);

export function parseEnv(value: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const [i, raw] of value.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) {
      throw new InputError('env', `line ${i + 1} "${line}" is not KEY=value with a valid variable name`);
    }
    if (RESERVED_ENV.has(name)) {
      throw new InputError(
        'env',
        `line ${i + 1}: ${name} is set by Knative in every revision (it reserves ${[...RESERVED_ENV].join(', ')}), ` +
          'and its webhook refuses a template that sets it: use another name',
      );
    }
    const existing = out.findIndex((e) => e.name === name);
    const entry = { name, value: line.slice(eq + 1).trim() };
    if (existing >= 0) out[existing] = entry;
    else out.push(entry);
  }
  return out;
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

/** Reads a Knative Service manifest and returns its template; `traffic` in it is ignored. */
export function readManifest(
  path: string,
  service: string,
  read = (p: string) => readFileSync(p, 'utf8'),
): Template {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    throw new InputError(
      'manifest',
      `cannot read "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  const errors = docs.flatMap((d) => d.errors);
  if (errors.length)
    throw new InputError('manifest', `"${path}" is not valid YAML: ${errors[0]!.message.split('\n')[0]}`);
  const objects = docs.map((d) => d.toJS() as Record<string, unknown>);
  const isService = (o: Record<string, unknown>) =>
    o && typeof o === 'object' && o.kind === 'Service' && o.apiVersion === 'serving.knative.dev/v1';
  const services = objects.filter(isService);
  if (services.length !== 1) {
    const found =
      objects
        .map((o) =>
          o && typeof o === 'object' ? `${String(o.apiVersion)} ${String(o.kind)}` : `a ${typeof o}`,
        )
        .join(', ') || 'nothing';
    throw new InputError(
      'manifest',
      `"${path}" must hold exactly one Knative Service (apiVersion serving.knative.dev/v1, kind Service); found ${found}`,
    );
  }
  const svc = services[0]!;
  const name = (svc.metadata as { name?: string } | undefined)?.name;
  if (name !== undefined && name !== service) {
    throw new InputError(
      'manifest',
      `"${path}" describes Service "${name}" but input 'service' is "${service}"`,
    );
  }
  const template = (svc.spec as { template?: Template } | undefined)?.template;
  const containers = template?.spec?.containers;
  if (
    !Array.isArray(containers) ||
    containers.length === 0 ||
    !containers.every((c) => typeof c?.image === 'string')
  ) {
    throw new InputError('manifest', `"${path}" needs spec.template.spec.containers with an image`);
  }
  return template!;
}

export interface ParseContext {
  /** The commit being deployed: the default revision name, and `{{ sha }}` in the image. */
  sha: string;
  readFile?: (path: string) => string;
  /** The command, when the event chose it (a comment command); otherwise the `command` input. */
  command?: Command;
  /** Arguments of a comment command, in place of the `percent` and `revision-name` inputs. */
  percent?: string;
  revision?: string;
  /** The candidate's tag in place of the `tag` input (a pull request's preview: `pr-<number>`). */
  tag?: string;
}

/** The inputs that say how the action talks to GitHub, read before the event decides the command. */
export interface GitHubInputs {
  /** `auto` or a command. */
  command: Command | 'auto';
  token: string;
  commandPrefix: string;
  permissions: Role[];
  allowForks: boolean;
}

export function parseGitHubInputs(get: GetInput): GitHubInputs {
  const commandText = get('command') || 'auto';
  if (commandText !== 'auto' && !COMMANDS.includes(commandText as Command)) {
    throw new InputError(
      'command',
      `"${commandText}" is not a command: expected auto or one of ${COMMANDS.join(', ')}`,
    );
  }
  const commandPrefix = get('command-prefix') || '/canary';
  if (!/^[/.!#$%&*+,:;=?@^~A-Za-z][\w./:!#$%&*+,;=?@^~-]{0,39}$/.test(commandPrefix)) {
    throw new InputError(
      'command-prefix',
      `"${commandPrefix}" is not a command prefix: expected one word without spaces, like /canary or .deploy`,
    );
  }
  const permissionsText = get('permissions') || 'write,maintain,admin';
  const permissions = permissionsText
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((p) => p.toLowerCase());
  for (const p of permissions) {
    if (!ROLES.includes(p as Role)) {
      throw new InputError(
        'permissions',
        `"${p}" is not a repository permission: expected a comma-separated list from ${ROLES.join(', ')}`,
      );
    }
  }
  if (!permissions.length)
    throw new InputError('permissions', 'expected at least one permission, like write');
  return {
    command: commandText as Command | 'auto',
    token: get('github-token'),
    commandPrefix,
    permissions: permissions as Role[],
    allowForks: parseBoolean('allow-forks', get('allow-forks'), false),
  };
}

export function parseInputs(get: GetInput, ctx: ParseContext): Inputs {
  const commandText = ctx.command ?? (get('command') || 'auto');
  // `auto` without an event to decide (a local run) deploys, as a push does.
  const command = (commandText === 'auto' ? 'deploy' : commandText) as Command;
  if (!COMMANDS.includes(command)) {
    throw new InputError(
      'command',
      `"${commandText}" is not a command: expected auto or one of ${COMMANDS.join(', ')}`,
    );
  }

  const serviceText = get('service');
  const servicesText = get('services');
  if (serviceText && servicesText) {
    throw new InputError('services', "give either 'service' or 'services', not both");
  }
  const services = (servicesText ? servicesText.split(/[\s,]+/).filter(Boolean) : [serviceText]).filter(
    Boolean,
  );
  for (const name of services) dnsLabel(servicesText ? 'services' : 'service', name, 'Service name');
  if (new Set(services).size !== services.length) {
    throw new InputError('services', 'lists a Service twice');
  }
  if (services.length === 0 && command !== 'advance' && command !== 'help') {
    throw new InputError(
      'service',
      `is required for command '${command}': the name of the Knative Service (or 'services', one per line)`,
    );
  }
  const service = services[0] ?? '';
  const progressionText = get('progression') || 'inline';
  if (progressionText !== 'inline' && progressionText !== 'scheduled') {
    throw new InputError(
      'progression',
      `"${progressionText}" is not a progression: expected inline (the job waits through the steps) or ` +
        'scheduled (scheduled runs with command advance take the steps)',
    );
  }
  const percentText = ctx.percent ?? get('percent');
  let percent: number | undefined;
  if (percentText !== '') {
    percent = Number(percentText.replace(/%$/, ''));
    if (!/^\d+%?$/.test(percentText) || percent < 1 || percent > 100) {
      throw new InputError(
        'percent',
        `"${percentText}" is not a percent: expected a whole number from 1 to 100`,
      );
    }
    if (command !== 'promote') {
      throw new InputError('percent', `is only for command promote, not ${command}`);
    }
  }
  const environmentText = get('environment');
  if (
    environmentText &&
    (environmentText.length > 255 || [...environmentText].some((c) => c.charCodeAt(0) < 32))
  ) {
    throw new InputError('environment', `"${environmentText}" is not an environment name`);
  }
  const namespace = get('namespace') || 'default';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new InputError('namespace', `"${namespace}" is not a valid namespace name (a DNS-1123 label)`);
  }

  // `{{ sha }}` in the image is the commit deployed (a pull request's head for a comment command).
  const imageText = get('image');
  if (/\{\{(?!\s*sha\s*\}\})/.test(imageText)) {
    throw new InputError('image', `"${imageText}" has a placeholder other than {{ sha }}`);
  }
  if (/\{\{\s*sha\s*\}\}/.test(imageText) && !/^[0-9a-f]{40}$/i.test(ctx.sha)) {
    throw new InputError('image', 'uses {{ sha }}, but the commit sha (GITHUB_SHA) is not available');
  }
  const image = imageText.replace(/\{\{\s*sha\s*\}\}/g, ctx.sha.toLowerCase()) || undefined;
  const manifestPath = get('manifest') || undefined;
  if (image && manifestPath) {
    throw new InputError('image', "give either 'image' or 'manifest', not both");
  }
  if (command === 'deploy' && !image && !manifestPath) {
    throw new InputError(
      'image',
      "is required for command 'deploy' (or give 'manifest': a Knative Service YAML file)",
    );
  }
  if (image !== undefined && /\s/.test(image)) {
    throw new InputError('image', `"${image}" is not an image reference (it contains whitespace)`);
  }
  const manifestTemplate = manifestPath ? readManifest(manifestPath, service, ctx.readFile) : undefined;

  const revisionText = ctx.revision ?? get('revision-name');
  const revisionNameGiven = revisionText !== '';
  let revisionName = revisionText;
  if (!revisionNameGiven && command === 'deploy') {
    // The default names the revision after the commit: `<service>-<first 7 characters of the sha>`.
    const sha = ctx.sha.slice(0, 7).toLowerCase();
    if (!/^[0-9a-f]{7}$/.test(sha)) {
      throw new InputError('revision-name', 'is required when the commit sha (GITHUB_SHA) is not available');
    }
    revisionName = `${service}-${sha}`;
    if (revisionName.length > 63) {
      throw new InputError(
        'revision-name',
        `the default "${revisionName}" is ${revisionName.length} characters, over Kubernetes' 63: give a shorter revision-name`,
      );
    }
  }
  if (revisionName !== '') {
    dnsLabel('revision-name', revisionName, 'revision name');
    if (!revisionName.startsWith(`${service}-`)) {
      throw new InputError(
        'revision-name',
        `"${revisionName}" must start with the service name and a dash: "${service}-"`,
      );
    }
  }

  const tag = dnsLabel('tag', ctx.tag ?? (get('tag') || 'latest'), 'tag');
  // The runner fills in action.yml's default (`stable`) when the input is absent, so an empty value is the
  // user's explicit `stable-tag: ''`: no stable tag.
  const stableTag = get('stable-tag');
  if (stableTag !== '') dnsLabel('stable-tag', stableTag, 'tag');
  if (stableTag !== '' && stableTag === tag) {
    throw new InputError('stable-tag', `"${stableTag}" is also the candidate 'tag': they must differ`);
  }
  // Each tag's host label, `<tag>-<service>`, must fit in 63 characters, or Knative fails the whole Route.
  if (service && command !== 'status' && command !== 'help') {
    const opts = { serviceInput: servicesText ? 'services' : 'service' };
    checkTagLabel('tag', tag, service, namespace, { ...opts, preview: ctx.tag !== undefined });
    if (stableTag !== '') checkTagLabel('stable-tag', stableTag, service, namespace, opts);
  }

  const intervalMs = parseDurationInput('interval', get('interval'), '1m');
  const steps = parseSteps(get('steps'), intervalMs);
  const timeoutMs = parseDurationInput('timeout', get('timeout'), '5m');

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

  return {
    command,
    service,
    services,
    percent,
    progression: progressionText,
    environment: environmentText || undefined,
    namespace,
    image,
    manifestTemplate,
    manifestPath,
    env: parseEnv(get('env')),
    revisionName,
    revisionNameGiven,
    tag,
    stableTag,
    steps,
    intervalMs,
    timeoutMs,
    gateway,
    localGateway,
    smokeTests,
    maxErrorRate,
    maxLatencyP99Ms,
    probeRps,
    alpha,
    minIntervalMs,
    warmupMs,
    checkEveryMs,
    failureThreshold,
    analysis: parseAnalysis(get('analysis')),
    webhooks: parseWebhooks(get('webhooks')),
    kubeconfig: get('kubeconfig') || undefined,
    context: get('context') || undefined,
    dryRun: parseBoolean('dry-run', get('dry-run'), false),
    acceptSplit: parseBoolean('accept-split', get('accept-split'), false),
  };
}

/** A gateway's base URL (`gateway`, `local-gateway`); undefined when empty. */
function parseGateway(input: string, text: string): URL | undefined {
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
