// Every rule of the action's input parsing (src/inputs.ts), with the inputs read the way the runner passes them:
// action.yml's defaults filled in for inputs the workflow leaves out, and values trimmed.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../src/errors.ts';
import {
  type GetInput,
  type Inputs,
  type ParseContext,
  parseEnv,
  parseGitHubInputs,
  parseInputs,
  parseSmokeTests,
  parseSteps,
  readManifest,
} from '../src/inputs.ts';

interface ActionYml {
  inputs: Record<string, { default?: string; required?: boolean }>;
}
const actionYml = parseYaml(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as ActionYml;
const declared = Object.keys(actionYml.inputs);

const SHA = '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';

/** A `get` as the runner provides it; `read` collects the names asked for. */
function runnerGet(inputs: Record<string, string>, read?: Set<string>): GetInput {
  for (const name of Object.keys(inputs)) {
    if (!declared.includes(name))
      throw new Error(`test uses input "${name}" that action.yml does not declare`);
  }
  return (name) => {
    if (!declared.includes(name))
      throw new Error(`parseInputs reads "${name}", which action.yml does not declare`);
    read?.add(name);
    return (inputs[name] ?? actionYml.inputs[name]!.default ?? '').trim();
  };
}

const BASE = { service: 'hello', image: 'ghcr.io/example/hello:v2' };

function parse(inputs: Record<string, string> = {}, ctx: Partial<ParseContext> = {}): Inputs {
  return parseInputs(runnerGet({ ...BASE, ...inputs }), { sha: SHA, ...ctx });
}

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

/** Parses `inputs` (over BASE) and expects the error of `input` with exactly `message` after the prefix. */
function expectError(inputs: Record<string, string>, input: string, message: string | RegExp, ctx = {}) {
  const e = errorOf(() => parse(inputs, ctx));
  expect(e.input).toBe(input);
  expect(e.name).toBe('InputError');
  if (typeof message === 'string') expect(e.message).toBe(`Input '${input}': ${message}`);
  else {
    expect(e.message.startsWith(`Input '${input}': `)).toBe(true);
    expect(e.message).toMatch(message);
  }
  return e;
}

const dns = (value: string, what: string) =>
  `"${value}" is not a valid ${what}: expected a DNS-1035 label (lower-case letters, digits and '-', ` +
  `starting with a letter, ending with a letter or digit, at most 63 characters)`;
const notDuration = (text: string) =>
  `"${text}" is not a duration: expected a positive duration like 30s, 5m, 1h or 1m30s (a bare number is seconds)`;

describe('InputError', () => {
  it('carries the input and prefixes the message with it', () => {
    const e = new InputError('steps', 'expected a list');
    expect(e).toBeInstanceOf(Error);
    expect(e.input).toBe('steps');
    expect(e.message).toBe("Input 'steps': expected a list");
    expect(e.name).toBe('InputError');
  });
});

describe('parseInputs with the defaults of action.yml', () => {
  it('reads exactly the inputs action.yml declares', () => {
    const read = new Set<string>();
    parseInputs(runnerGet(BASE, read), { sha: SHA });
    parseGitHubInputs(runnerGet(BASE, read));
    expect([...read].sort()).toEqual([...declared].sort());
  });

  it('declares no input as required (service is checked by command: advance may go without)', () => {
    expect(declared.filter((n) => actionYml.inputs[n]!.required)).toEqual([]);
  });

  it('gives the documented defaults', () => {
    expect(parse()).toEqual({
      command: 'deploy',
      service: 'hello',
      services: ['hello'],
      percent: undefined,
      progression: 'inline',
      environment: undefined,
      namespace: 'default',
      image: 'ghcr.io/example/hello:v2',
      manifestTemplate: undefined,
      manifestPath: undefined,
      env: [],
      revisionName: 'hello-0a1b2c3',
      revisionNameGiven: false,
      tag: 'latest',
      stableTag: 'stable',
      steps: [
        { percent: 10, dwellMs: 60_000 },
        { percent: 50, dwellMs: 60_000 },
        { percent: 100, dwellMs: 0 },
      ],
      intervalMs: 60_000,
      timeoutMs: 300_000,
      gateway: undefined,
      localGateway: undefined,
      smokeTests: [{ path: '/', method: 'GET', headers: {}, expectStatus: [200], retries: 2 }],
      maxErrorRate: 0.01,
      maxLatencyP99Ms: undefined,
      probeRps: 10,
      alpha: 0.01,
      minIntervalMs: 30_000,
      warmupMs: 30_000,
      checkEveryMs: 15_000,
      failureThreshold: 1,
      analysis: { headers: {}, timeoutMs: 10_000, queries: [] },
      webhooks: [],
      kubeconfig: undefined,
      context: undefined,
      dryRun: false,
      acceptSplit: false,
    } satisfies Inputs);
  });

  it("falls back to the same values as action.yml when an input is empty (but 'stable-tag': empty is off)", () => {
    const allEmpty = Object.fromEntries(declared.map((n) => [n, '']));
    const fromCode = parse({ ...allEmpty, ...BASE });
    const fromRunner = parse();
    expect(fromCode).toEqual({ ...fromRunner, stableTag: '' });
  });
});

describe('command, service and namespace', () => {
  it.each(['deploy', 'promote', 'rollback', 'advance', 'pause', 'resume', 'status', 'help'])(
    'accepts command %j',
    (command) => {
      expect(parse({ command }).command).toBe(command);
    },
  );

  it('takes auto as deploy when no event decides', () => {
    expect(parse({ command: 'auto' }).command).toBe('deploy');
  });

  it.each(['Deploy', 'release', 'roll-back'])('rejects command %j', (command) => {
    expectError(
      { command },
      'command',
      `"${command}" is not a command: expected auto or one of deploy, promote, rollback, advance, pause, resume, close, status, help`,
    );
  });

  it('requires service', () => {
    expectError(
      { service: '' },
      'service',
      "is required for command 'deploy': the name of the Knative Service (or 'services', one per line)",
    );
    expectError(
      { service: '   ' },
      'service',
      "is required for command 'deploy': the name of the Knative Service (or 'services', one per line)",
    );
  });

  it.each(['Hello', 'hello_world', '-x', 'x-', '1hello', 'hello.world', 'a'.repeat(64)])(
    'rejects service %j (not a DNS-1035 label)',
    (service) => {
      expectError({ service }, 'service', dns(service, 'Service name'));
    },
  );

  it.each(['a', 'hello', 'hello-world-2', 'a'.repeat(55)])('accepts service %j', (service) => {
    expect(parse({ service }).service).toBe(service);
  });

  it('accepts a 61-character service, but above that no revision name `<service>-x` fits in 63', () => {
    const service = 'a'.repeat(61);
    // (Only a one-letter tag fits in its host label, `x-<service>`.)
    const tags = { tag: 'x', 'stable-tag': '' };
    expect(parse({ service, 'revision-name': `${service}-x`, ...tags }).revisionName).toHaveLength(63);
    const longer = 'a'.repeat(62);
    expectError(
      { service: longer, 'revision-name': `${longer}-x` },
      'revision-name',
      dns(`${longer}-x`, 'revision name'),
    );
  });

  it.each(['staging', 'team-a', '0ns', 'a'.repeat(63)])('accepts namespace %j', (namespace) => {
    expect(parse({ namespace }).namespace).toBe(namespace);
  });

  it.each(['Default', 'my_ns', '-ns', 'ns-', 'a.b', 'a'.repeat(64)])('rejects namespace %j', (namespace) => {
    expectError(
      { namespace },
      'namespace',
      `"${namespace}" is not a valid namespace name (a DNS-1123 label)`,
    );
  });
});

describe('image and manifest', () => {
  it('rejects both image and manifest', () => {
    expectError({ manifest: 'svc.yaml' }, 'image', "give either 'image' or 'manifest', not both", {
      readFile: () => {
        throw new Error('must not be read');
      },
    });
  });

  it('requires one of them for deploy', () => {
    expectError(
      { image: '' },
      'image',
      "is required for command 'deploy' (or give 'manifest': a Knative Service YAML file)",
    );
  });

  it.each(['promote', 'rollback', 'status'])('needs neither for %s', (command) => {
    const inputs = parse({ command, image: '' });
    expect(inputs.image).toBeUndefined();
    expect(inputs.manifestTemplate).toBeUndefined();
  });

  it('rejects an image with whitespace inside', () => {
    expectError(
      { image: 'ghcr.io/example/hello: v2' },
      'image',
      '"ghcr.io/example/hello: v2" is not an image reference (it contains whitespace)',
    );
  });

  it('trims the image as the runner does', () => {
    expect(parse({ image: '  ghcr.io/example/hello:v2\n' }).image).toBe('ghcr.io/example/hello:v2');
  });
});

describe('revision-name', () => {
  it('defaults to <service>-<first 7 characters of the sha>, lower-cased', () => {
    expect(parse().revisionName).toBe('hello-0a1b2c3');
    expect(parse({}, { sha: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' }).revisionName).toBe('hello-abcdef0');
    expect(parse().revisionNameGiven).toBe(false);
  });

  it('is taken as given, and marked given', () => {
    const inputs = parse({ 'revision-name': 'hello-v2' });
    expect(inputs.revisionName).toBe('hello-v2');
    expect(inputs.revisionNameGiven).toBe(true);
  });

  it('is required for deploy when there is no usable sha', () => {
    for (const sha of ['', 'abc', 'not-a-sha-at-all']) {
      expectError({}, 'revision-name', 'is required when the commit sha (GITHUB_SHA) is not available', {
        sha,
      });
    }
    expect(parse({ 'revision-name': 'hello-v2' }, { sha: '' }).revisionName).toBe('hello-v2');
  });

  // Only deploy names a new revision, so only deploy needs the sha.
  it.each(['promote', 'rollback', 'status'])('%s works without a sha', (command) => {
    expect(() => parse({ command, image: '' }, { sha: '' })).not.toThrow();
  });

  it('must start with the service name and a dash', () => {
    for (const name of ['other-abc', 'hello', 'helloworld', 'hell-o']) {
      expectError(
        { 'revision-name': name },
        'revision-name',
        `"${name}" must start with the service name and a dash: "hello-"`,
      );
    }
  });

  it("rejects exactly '<service>-' (as a DNS label: it ends with a dash)", () => {
    expectError({ 'revision-name': 'hello-' }, 'revision-name', dns('hello-', 'revision name'));
  });

  it.each(['hello-V2', 'hello_v2', 'hello-v2.1', `hello-${'a'.repeat(58)}`])('rejects %j', (name) => {
    expectError({ 'revision-name': name }, 'revision-name', dns(name, 'revision name'));
  });

  it('rejects a default that is too long for a revision name (a long service name)', () => {
    const service = 'a'.repeat(57);
    expectError(
      { service },
      'revision-name',
      `the default "${service}-0a1b2c3" is 65 characters, over Kubernetes' 63: give a shorter revision-name`,
    );
  });
});

describe('tag and stable-tag', () => {
  it('takes both as given', () => {
    const inputs = parse({ tag: 'canary', 'stable-tag': 'current' });
    expect(inputs.tag).toBe('canary');
    expect(inputs.stableTag).toBe('current');
  });

  it.each(['Canary', 'can_ary', '1canary', 'canary-'])('rejects tag %j', (tag) => {
    expectError({ tag }, 'tag', dns(tag, 'tag'));
  });

  it.each(['Stable', 'stable tag', '-stable'])('rejects stable-tag %j', (stableTag) => {
    expectError({ 'stable-tag': stableTag }, 'stable-tag', dns(stableTag, 'tag'));
  });

  it('rejects a stable-tag equal to the tag', () => {
    expectError(
      { 'stable-tag': 'latest' },
      'stable-tag',
      `"latest" is also the candidate 'tag': they must differ`,
    );
    expectError({ tag: 'stable' }, 'stable-tag', `"stable" is also the candidate 'tag': they must differ`);
  });

  // Knative fails a Route whose host has a label over 63 characters: pkg/reconciler/route/domains/domains.go.
  const over = (label: string) =>
    `the host label "${label}" is ${label.length} characters, over the 63 Knative allows (the tag's URL is ` +
    `http://${label}.default.<domain>; Knative would fail the whole Route with ErrorConfig)`;

  it('accepts a tag whose host label `<tag>-<service>` is 63 characters', () => {
    const tag = 'a'.repeat(57);
    expect(parse({ tag }).tag).toBe(tag);
    expect(parse({ 'stable-tag': tag }).stableTag).toBe(tag);
  });

  it('refuses a tag or stable-tag whose host label is over 63 characters, saying how long it may be', () => {
    const tag = 'a'.repeat(58);
    expectError(
      { tag },
      'tag',
      `"${tag}" is too long for Service "hello": ${over(`${tag}-hello`)}. Give a tag of at most 57 characters`,
    );
    expectError(
      { 'stable-tag': tag },
      'stable-tag',
      `"${tag}" is too long for Service "hello": ${over(`${tag}-hello`)}. Give a tag of at most 57 characters`,
    );
  });

  it('refuses the default tag for a Service name that leaves no room for it', () => {
    const service = 'b'.repeat(57); // latest-<57> is 64
    expectError(
      { service, 'revision-name': `${service}-v2` },
      'tag',
      `"latest" is too long for Service "${service}": ${over(`latest-${service}`)}. Give a tag of at most 5 characters`,
    );
  });

  it('names the service when no tag at all would fit, or for a pull request preview', () => {
    const service = 'c'.repeat(62);
    const e = errorOf(() =>
      parse({ service, 'revision-name': '', command: 'rollback', image: '', tag: 'x' }),
    );
    expect(e.input).toBe('service');
    expect(e.message).toBe(
      `Input 'service': "${service}" is too long to be tagged: with the tag "x" ${over(`x-${service}`)}. ` +
        'The action tags revisions, so the Service name may have at most 61 characters',
    );
    const s56 = 'd'.repeat(56); // pr-12345-<56> is 65
    expectError(
      { service: s56, 'revision-name': `${s56}-v2` },
      'service',
      `the preview tag "pr-12345" is too long for Service "${s56}": ${over(`pr-12345-${s56}`)}. ` +
        'Previews of this pull request need a Service name of at most 54 characters',
      { tag: 'pr-12345' },
    );
    // With services, the input named is services.
    const s55 = 'e'.repeat(55); // pr-12345-<55> is 64; its default revision name <55>-0a1b2c3 is 63
    const e2 = errorOf(() => parse({ service: '', services: `${s55}\nhello` }, { tag: 'pr-12345' }));
    expect(e2.input).toBe('services');
  });

  it('does not check host labels for status, which writes nothing', () => {
    expect(parse({ command: 'status', image: '', tag: 'a'.repeat(60) }).command).toBe('status');
  });

  it('turns the stable tag off when given empty', () => {
    expect(parse({ 'stable-tag': '' }).stableTag).toBe('');
    // And then any tag is fine, including the default stable-tag's name.
    expect(parse({ 'stable-tag': '', tag: 'stable' }).tag).toBe('stable');
  });
});

describe('steps', () => {
  it('defaults to 10,50,100 with the interval as dwell; 100 promotes at once', () => {
    expect(parse({ interval: '2m' }).steps).toEqual([
      { percent: 10, dwellMs: 120_000 },
      { percent: 50, dwellMs: 120_000 },
      { percent: 100, dwellMs: 0 },
    ]);
  });

  it('reads a per-step dwell', () => {
    expect(parse({ steps: '25:10m, 50, 100' }).steps).toEqual([
      { percent: 25, dwellMs: 600_000 },
      { percent: 50, dwellMs: 60_000 },
      { percent: 100, dwellMs: 0 },
    ]);
  });

  it('appends 100 when missing', () => {
    expect(parseSteps('5', 30_000)).toEqual([
      { percent: 5, dwellMs: 30_000 },
      { percent: 100, dwellMs: 0 },
    ]);
    expect(parseSteps('20 40 80', 1_000).map((s) => s.percent)).toEqual([20, 40, 80, 100]);
  });

  it('keeps a dwell given on 100 (a bake time before promotion)', () => {
    expect(parseSteps('10,100:5m', 60_000)).toEqual([
      { percent: 10, dwellMs: 60_000 },
      { percent: 100, dwellMs: 300_000 },
    ]);
    expect(parseSteps('100', 60_000)).toEqual([{ percent: 100, dwellMs: 0 }]);
  });

  it('accepts percent signs and whitespace as separators', () => {
    expect(parseSteps('10%, 50%\n100%', 1_000).map((s) => s.percent)).toEqual([10, 50, 100]);
  });

  it.each([
    ['50,10', '10 comes after 50 in "50,10"'],
    ['10,10', '10 comes after 10 in "10,10"'],
    ['10,50,30,100', '30 comes after 50 in "10,50,30,100"'],
    ['100,50', '50 comes after 100 in "100,50"'],
  ])('rejects steps %j that do not increase', (steps, detail) => {
    expectError({ steps }, 'steps', `steps must increase: ${detail}`);
  });

  it.each([
    ['10,150', 150],
    ['0', 0],
    ['0,50', 0],
    ['101', 101],
  ])('rejects %j: %i is out of range', (steps, percent) => {
    expectError({ steps }, 'steps', `${percent} is out of range: each step must be a percent from 1 to 100`);
  });

  it.each([
    ['ten,50', 'ten'],
    ['10.5', '10.5'],
    ['-10', '-10'],
    ['10:', '10:'],
    ['1e2', '1e2'],
  ])('rejects %j: %j is not a step', (steps, part) => {
    expectError(
      { steps },
      'steps',
      `"${part}" is not a step: expected a percent (1-100), optionally with a dwell as 25:10m`,
    );
  });

  it('rejects a list with no steps in it', () => {
    expectError({ steps: ', ,' }, 'steps', 'expected a list of percents like 10,50,100');
  });

  it('rejects a bad dwell as a steps error', () => {
    expectError(
      { steps: '25:10 minutes' },
      'steps',
      '"minutes" is not a step: expected a percent (1-100), optionally with a dwell as 25:10m',
    );
    expectError({ steps: '25:soon' }, 'steps', notDuration('soon'));
    expectError({ steps: '25:0s' }, 'steps', notDuration('0s'));
  });
});

describe('interval and timeout', () => {
  it('reads durations', () => {
    const inputs = parse({ interval: '1m30s', timeout: '500ms' });
    expect(inputs.intervalMs).toBe(90_000);
    expect(inputs.timeoutMs).toBe(500);
  });

  it.each(['interval', 'timeout'])('rejects a malformed %s', (input) => {
    for (const text of ['5 minutes', '0s', '0', 'soon', '-1m', '1d']) {
      expectError({ [input]: text }, input, notDuration(text));
    }
  });

  // The duration parser reads a bare number as seconds, though the error message asks for a unit.
  it.each(['interval', 'timeout'])('reads a bare number for %s as seconds', (input) => {
    const inputs = parse({ [input]: '10' });
    expect(input === 'interval' ? inputs.intervalMs : inputs.timeoutMs).toBe(10_000);
  });

  it('checks interval before steps, since a step takes its dwell from it', () => {
    expectError({ interval: 'x', steps: '50,10' }, 'interval', notDuration('x'));
  });
});

describe('local-gateway', () => {
  it('is a URL when given, like gateway', () => {
    expect(parse({ 'local-gateway': 'http://10.0.0.2' }).localGateway?.href).toBe('http://10.0.0.2/');
    expect(parse().localGateway).toBeUndefined();
    expectError(
      { 'local-gateway': 'kourier-internal' },
      'local-gateway',
      '"kourier-internal" is not a URL: expected a base URL like http://10.0.0.1 or https://gw.example.com',
    );
    expectError(
      { 'local-gateway': 'ftp://x' },
      'local-gateway',
      '"ftp://x" must be an http:// or https:// URL',
    );
  });
});

describe('gateway', () => {
  it('is a URL when given', () => {
    expect(parse({ gateway: 'http://10.0.0.1:8080' }).gateway?.href).toBe('http://10.0.0.1:8080/');
    expect(parse({ gateway: 'https://gw.example.com' }).gateway?.host).toBe('gw.example.com');
    expect(parse({ gateway: '' }).gateway).toBeUndefined();
  });

  it.each(['gw.example.com', '10.0.0.1', 'http//x'])('rejects %j: not a URL', (gateway) => {
    expectError(
      { gateway },
      'gateway',
      `"${gateway}" is not a URL: expected a base URL like http://10.0.0.1 or https://gw.example.com`,
    );
  });

  it.each(['ftp://gw.example.com', 'file:///tmp/x', 'localhost:8080'])(
    'rejects %j: not http(s)',
    (gateway) => {
      expectError({ gateway }, 'gateway', `"${gateway}" must be an http:// or https:// URL`);
    },
  );
});

describe('smoke-path and smoke-tests', () => {
  it('defaults to GET / expecting 200 with 2 retries', () => {
    expect(parseSmokeTests('', '')).toEqual([
      { path: '/', method: 'GET', headers: {}, expectStatus: [200], retries: 2 },
    ]);
    expect(parse({ 'smoke-path': '/healthz' }).smokeTests).toEqual([
      { path: '/healthz', method: 'GET', headers: {}, expectStatus: [200], retries: 2 },
    ]);
  });

  it('requires smoke-path to start with /', () => {
    expectError({ 'smoke-path': 'healthz' }, 'smoke-path', `"healthz" must start with '/'`);
  });

  it('reads a full list: methods upper-cased, headers lower-cased, bodies JSON-encoded', () => {
    const tests = parse({
      'smoke-tests': [
        '- path: /api/orders',
        '  method: post',
        '  headers: {Content-Type: application/json, X-Attempt: 3}',
        '  body: {item: book, qty: 2}',
        '  status: [200, 201]',
        '  body-pattern: \'"id":\\s*\\d+\'',
        '  retries: 0',
        '- path: /echo',
        '  method: PUT',
        '  body: plain text',
        '  expect-status: 204',
        '  retries: 20',
      ].join('\n'),
    }).smokeTests;
    expect(tests).toEqual([
      {
        path: '/api/orders',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-attempt': '3' },
        body: '{"item":"book","qty":2}',
        expectStatus: [200, 201],
        bodyPattern: /"id":\s*\d+/,
        retries: 0,
      },
      {
        path: '/echo',
        method: 'PUT',
        headers: {},
        body: 'plain text',
        expectStatus: [204],
        bodyPattern: undefined,
        retries: 20,
      },
    ]);
    expect(tests[0]!.bodyPattern!.test('{"id": 42}')).toBe(true);
  });

  it('reads a list of paths as GET tests', () => {
    expect(parseSmokeTests('- /healthz\n- /ready', '/')).toEqual([
      { path: '/healthz', method: 'GET', headers: {}, expectStatus: [200], retries: 2 },
      { path: '/ready', method: 'GET', headers: {}, expectStatus: [200], retries: 2 },
    ]);
    expect(parseSmokeTests('[/a, /b]', '/').map((t) => t.path)).toEqual(['/a', '/b']);
  });

  it('reads a status given as a string', () => {
    expect(parseSmokeTests('- path: /\n  status: "404"', '/')[0]!.expectStatus).toEqual([404]);
  });

  it('still checks smoke-path when smoke-tests is given', () => {
    expectError({ 'smoke-path': 'x', 'smoke-tests': '- /' }, 'smoke-path', `"x" must start with '/'`);
  });

  const smokeError = (yaml: string, message: string | RegExp) =>
    expectError({ 'smoke-tests': yaml }, 'smoke-tests', message);

  it('rejects invalid YAML', () => {
    smokeError(
      '- path: [',
      /^Input 'smoke-tests': is not valid YAML: Flow sequence .* at line 1, column 10:$/,
    );
    smokeError('- path: /\n  path: /x', /^Input 'smoke-tests': is not valid YAML: Map keys must be unique/);
  });

  it.each(['path: /', '[]', '"/healthz"', '42'])('rejects %j: not a list', (yaml) => {
    smokeError(yaml, 'expected a YAML list of tests, each with at least a path');
  });

  it.each(['- 5', '- ', '- true'])('rejects %j: an item that is not a map', (yaml) => {
    smokeError(yaml, 'smoke-tests[0] is not a map');
  });

  it('rejects an unknown key, naming the item and the known keys', () => {
    smokeError(
      '- /\n- path: /x\n  expect: 200',
      'smoke-tests[1] has unknown key "expect": expected path, method, headers, body, status, expect-status, body-pattern, retries',
    );
  });

  it.each(['- path: healthz', '- method: GET', '- path: 5', '- path: [/a]', '- healthz'])(
    'rejects %j: a bad path',
    (yaml) => {
      smokeError(yaml, "smoke-tests[0].path must be a string starting with '/'");
    },
  );

  it.each([
    ['FETCH', 'FETCH'],
    ['get it', 'GET IT'],
    ['CONNECT', 'CONNECT'],
  ])('rejects method %j', (method, shown) => {
    smokeError(`- path: /\n  method: ${method}`, `smoke-tests[0].method "${shown}" is not an HTTP method`);
  });

  it.each(['99', '600', 'ok', '[200, 700]', '2.5', 'true'])('rejects status %s', (status) => {
    smokeError(
      `- path: /\n  status: ${status}`,
      'smoke-tests[0].status must be an HTTP status code or a list of them',
    );
    smokeError(
      `- path: /\n  expect-status: ${status}`,
      'smoke-tests[0].status must be an HTTP status code or a list of them',
    );
  });

  it('rejects a body-pattern that is not a regular expression', () => {
    smokeError(
      '- path: /\n  body-pattern: "(ok"',
      /^Input 'smoke-tests': smoke-tests\[0\]\.body-pattern is not a regular expression: Invalid regular expression: \/\(ok\/: Unterminated group$/,
    );
  });

  it.each(['-1', '21', '1.5', 'many'])('rejects retries %s', (retries) => {
    smokeError(
      `- path: /\n  retries: ${retries}`,
      'smoke-tests[0].retries must be a whole number from 0 to 20',
    );
  });

  it('rejects headers that are not a map', () => {
    smokeError(
      '- path: /\n  headers: [a, b]',
      'smoke-tests[0].headers must be a map of header names to values',
    );
    smokeError('- path: /\n  headers: x', 'smoke-tests[0].headers must be a map of header names to values');
  });
});

describe('health limits', () => {
  it('reads max-error-rate as a fraction from 0 to 1', () => {
    expect(parse({ 'max-error-rate': '0' }).maxErrorRate).toBe(0);
    expect(parse({ 'max-error-rate': '0.05' }).maxErrorRate).toBe(0.05);
    expect(parse({ 'max-error-rate': '1' }).maxErrorRate).toBe(1);
  });

  it.each(['1.5', '-0.1', '1%', 'low', 'Infinity'])('rejects max-error-rate %j', (value) => {
    expectError(
      { 'max-error-rate': value },
      'max-error-rate',
      `"${value}" is not a fraction from 0 to 1, like 0.01 for 1%`,
    );
  });

  it.each([
    ['', undefined],
    ['off', undefined],
    ['250ms', 250],
    ['250', 250],
    ['1', 1],
    ['3600000', 3_600_000],
  ])('reads max-latency-p99 %j as %j', (value, ms) => {
    expect(parse({ 'max-latency-p99': value }).maxLatencyP99Ms).toBe(ms);
  });

  it.each(['fast', '0', '-5', '3600001', '1s', 'OFF'])('rejects max-latency-p99 %j', (value) => {
    expectError(
      { 'max-latency-p99': value },
      'max-latency-p99',
      `"${value}" is not a latency in milliseconds, like 500`,
    );
  });

  it.each(['fastms', 'ms'])('quotes the max-latency-p99 %j as written', (value) => {
    expectError(
      { 'max-latency-p99': value },
      'max-latency-p99',
      `"${value}" is not a latency in milliseconds, like 500`,
    );
  });

  it('reads probe-rps from 0 to 1000', () => {
    expect(parse({ 'probe-rps': '0' }).probeRps).toBe(0);
    expect(parse({ 'probe-rps': '2.5' }).probeRps).toBe(2.5);
    expect(parse({ 'probe-rps': '1000' }).probeRps).toBe(1000);
  });

  it.each(['1001', '-1', 'many', '10rps'])('rejects probe-rps %j', (value) => {
    expectError(
      { 'probe-rps': value },
      'probe-rps',
      `"${value}" is not a request rate from 0 to 1000 per second`,
    );
  });
});

describe('dry-run and accept-split', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['yes', true],
    ['on', true],
    ['1', true],
    ['false', false],
    ['FALSE', false],
    ['no', false],
    ['off', false],
    ['0', false],
  ])('read %j as %j', (value, expected) => {
    expect(parse({ 'dry-run': value }).dryRun).toBe(expected);
    expect(parse({ 'accept-split': value }).acceptSplit).toBe(expected);
  });

  it.each(['dry-run', 'accept-split'])("rejects %s 'maybe'", (input) => {
    expectError({ [input]: 'maybe' }, input, '"maybe" is not a boolean: expected true or false');
  });
});

describe('env', () => {
  it('reads KEY=value lines, skipping blank lines and comments', () => {
    expect(
      parse({
        env: '# the greeting\nGREETING=hello world\n\n  LOG_LEVEL=debug  \nURL=http://x/?a=b\nEMPTY=\r\n',
      }).env,
    ).toEqual([
      { name: 'GREETING', value: 'hello world' },
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'URL', value: 'http://x/?a=b' },
      { name: 'EMPTY', value: '' },
    ]);
  });

  it('lets a later duplicate win, in the place of the first', () => {
    expect(parseEnv('A=1\nB=2\nA=3')).toEqual([
      { name: 'A', value: '3' },
      { name: 'B', value: '2' },
    ]);
  });

  it.each([
    ['A=1\n\n1A=x', 3, '1A=x'],
    ['# c\nNO_EQUALS', 2, 'NO_EQUALS'],
    ['=x', 1, '=x'],
    ['MY VAR=1', 1, 'MY VAR=1'],
    ['A=1\r\nB$=2', 2, 'B$=2'],
  ])('rejects %j naming line %i', (env, line, text) => {
    expectError({ env }, 'env', `line ${line} "${text}" is not KEY=value with a valid variable name`);
  });

  // pkg/apis/serving/k8s_validation.go reservedEnvVars: Knative's webhook refuses a template that sets these.
  it.each(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'])(
    'refuses %s, which Knative sets itself',
    (name) => {
      expectError(
        { env: `A=1\n${name}=8080` },
        'env',
        `line 2: ${name} is set by Knative in every revision (it reserves PORT, K_SERVICE, K_CONFIGURATION, K_REVISION), ` +
          'and its webhook refuses a template that sets it: use another name',
      );
    },
  );

  it('accepts the names Kubernetes accepts (dots and dashes)', () => {
    expect(parseEnv('my.var-1=x\n_X=y').map((e) => e.name)).toEqual(['my.var-1', '_X']);
  });
});

describe('kubeconfig and context', () => {
  it('passes them through', () => {
    const inputs = parse({ kubeconfig: 'apiVersion: v1\nkind: Config\n', context: 'prod' });
    expect(inputs.kubeconfig).toBe('apiVersion: v1\nkind: Config');
    expect(inputs.context).toBe('prod');
  });
});

describe('manifest', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'inputs-test-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const knativeService = (name = 'hello', extra = '') => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containerConcurrency: 10
      containers:
        - image: ghcr.io/example/hello:v3
          env: [{name: GREETING, value: hi}]
  traffic: [{latestRevision: true, percent: 100}]
${extra}`;
  const template = {
    metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } },
    spec: {
      containerConcurrency: 10,
      containers: [{ image: 'ghcr.io/example/hello:v3', env: [{ name: 'GREETING', value: 'hi' }] }],
    },
  };
  const files =
    (map: Record<string, string>) =>
    (path: string): string => {
      if (path in map) return map[path]!;
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    };
  const withManifest = (text: string | undefined, inputs: Record<string, string> = {}) =>
    parse(
      { image: '', manifest: 'k8s/svc.yaml', ...inputs },
      { readFile: files(text === undefined ? {} : { 'k8s/svc.yaml': text }) },
    );
  const manifestError = (text: string | undefined, message: string | RegExp, inputs = {}) => {
    const e = errorOf(() => withManifest(text, inputs));
    expect(e.input).toBe('manifest');
    if (typeof message === 'string') expect(e.message).toBe(`Input 'manifest': ${message}`);
    else expect(e.message).toMatch(message);
  };

  it('returns the template of a Knative Service, without its traffic', () => {
    const inputs = withManifest(knativeService());
    expect(inputs.manifestTemplate).toEqual(template);
    expect(inputs.manifestPath).toBe('k8s/svc.yaml');
    expect(inputs.image).toBeUndefined();
  });

  it('accepts a Service without a name, and skips other and empty documents', () => {
    const text = `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n---\n${knativeService().replace(
      'metadata:\n  name: hello\n',
      '',
    )}---\n`;
    expect(withManifest(text).manifestTemplate).toEqual(template);
  });

  it('reads a real file', () => {
    const path = join(tmp, 'svc.yaml');
    writeFileSync(path, knativeService());
    const inputs = parseInputs(runnerGet({ service: 'hello', manifest: path }), { sha: SHA });
    expect(inputs.manifestTemplate).toEqual(template);
    expect(inputs.manifestPath).toBe(path);
  });

  it('names the input and the path of a real file it cannot read', () => {
    const dir = tmp;
    const missing = join(dir, 'missing.yaml');
    const e = errorOf(() => parseInputs(runnerGet({ service: 'hello', manifest: missing }), { sha: SHA }));
    expect(e.input).toBe('manifest');
    expect(e.message).toBe(
      `Input 'manifest': no file "${missing}": check the path, and that actions/checkout runs before this step`,
    );
    mkdirSync(join(dir, 'a-dir'));
    expect(() => readManifest(join(dir, 'a-dir'), 'hello')).toThrow(
      `Input 'manifest': cannot read "${join(dir, 'a-dir')}": EISDIR`,
    );
  });

  it('names the input and the path it cannot read', () => {
    // A relative path is read from the workspace, where the repository is only after actions/checkout.
    manifestError(
      undefined,
      `no file "k8s/svc.yaml" (relative to ${process.cwd()}, the workspace): check the path, and that ` +
        'actions/checkout runs before this step',
    );
    expect(() =>
      readManifest('svc.yaml', 'hello', () => {
        throw new Error('permission denied');
      }),
    ).toThrow(`Input 'manifest': cannot read "svc.yaml": permission denied`);
  });

  it('rejects a file that is not YAML', () => {
    manifestError(
      'kind: Service\nspec: [',
      /^Input 'manifest': "k8s\/svc.yaml" is not valid YAML: Flow sequence/,
    );
    manifestError(
      'a:\n\tb: 1',
      `"k8s/svc.yaml" is not valid YAML: Tabs are not allowed as indentation at line 2, column 1:`,
    );
  });

  const exactlyOne =
    '"k8s/svc.yaml" must hold exactly one Knative Service (apiVersion serving.knative.dev/v1, kind Service)';

  it('rejects a Deployment', () => {
    manifestError(
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  template:
    spec:
      containers: [{name: hello, image: ghcr.io/example/hello:v3}]
`,
      `${exactlyOne}; found apps/v1 Deployment`,
    );
  });

  it('rejects a core v1 Service (not Knative)', () => {
    manifestError(
      'apiVersion: v1\nkind: Service\nmetadata: {name: hello}\n',
      `${exactlyOne}; found v1 Service`,
    );
  });

  it('rejects two Knative Services', () => {
    manifestError(
      `${knativeService()}---\n${knativeService()}`,
      `${exactlyOne}; found serving.knative.dev/v1 Service, serving.knative.dev/v1 Service`,
    );
  });

  it('rejects an empty file', () => {
    manifestError('', `${exactlyOne}; found nothing`);
    manifestError('# nothing here\n', `${exactlyOne}; found nothing`);
  });

  it("rejects a Service whose name is not the input 'service'", () => {
    manifestError(
      knativeService('other'),
      `"k8s/svc.yaml" describes Service "other" but input 'service' is "hello"`,
    );
  });

  it.each([
    ['no template', 'apiVersion: serving.knative.dev/v1\nkind: Service\nspec: {}\n'],
    ['no spec', 'apiVersion: serving.knative.dev/v1\nkind: Service\n'],
    ['no containers', 'apiVersion: serving.knative.dev/v1\nkind: Service\nspec: {template: {spec: {}}}\n'],
    [
      'empty containers',
      'apiVersion: serving.knative.dev/v1\nkind: Service\nspec: {template: {spec: {containers: []}}}\n',
    ],
    [
      'a container without an image',
      'apiVersion: serving.knative.dev/v1\nkind: Service\nspec: {template: {spec: {containers: [{image: a}, {name: b}]}}}\n',
    ],
  ])('rejects a Service with %s', (_what, text) => {
    manifestError(text, '"k8s/svc.yaml" needs spec.template.spec.containers with an image');
  });
});

describe('GitHub integration inputs', () => {
  const gh = (inputs: Record<string, string> = {}) => parseGitHubInputs(runnerGet({ ...BASE, ...inputs }));

  it('gives the documented defaults', () => {
    expect(gh({ 'github-token': 'ghs_x' })).toEqual({
      command: 'auto',
      token: 'ghs_x',
      commandPrefix: '/canary',
      permissions: ['write', 'maintain', 'admin'],
      allowForks: false,
    });
  });

  it('reads permissions as a list and refuses unknown ones', () => {
    expect(gh({ permissions: 'Admin, maintain' }).permissions).toEqual(['admin', 'maintain']);
    const e = errorOf(() => gh({ permissions: 'write,owner' }));
    expect(e.message).toBe(
      `Input 'permissions': "owner" is not a repository permission: expected a comma-separated list from read, triage, write, maintain, admin`,
    );
  });

  it('reads production-environment: auto leaves it unset, true and false set it, anything else is refused', () => {
    expect(gh({ 'production-environment': 'auto' })).not.toHaveProperty('productionEnvironment');
    expect(gh({ 'production-environment': 'TRUE' }).productionEnvironment).toBe(true);
    expect(gh({ 'production-environment': 'false' }).productionEnvironment).toBe(false);
    const e = errorOf(() => gh({ 'production-environment': 'staging' }));
    expect(e.input).toBe('production-environment');
    expect(e.message).toBe(
      `Input 'production-environment': "staging" is not auto, true or false (auto leaves GitHub's default: production only for an environment named production)`,
    );
  });

  it.each(['/deploy', '.canary', '!ship'])('accepts the prefix %j', (prefix) => {
    expect(gh({ 'command-prefix': prefix }).commandPrefix).toBe(prefix);
  });

  it.each(['/can ary', '`rm', 'a'.repeat(41)])('refuses the prefix %j', (prefix) => {
    expect(errorOf(() => gh({ 'command-prefix': prefix })).input).toBe('command-prefix');
  });

  it('refuses an unknown command', () => {
    expect(errorOf(() => gh({ command: 'ship' })).message).toBe(
      `Input 'command': "ship" is not a command: expected auto or one of deploy, promote, rollback, advance, pause, resume, close, status, help`,
    );
  });

  it('takes the command the event chose over the input', () => {
    expect(parse({ command: 'status' }, { command: 'promote' }).command).toBe('promote');
  });

  it('reads services one per line, and refuses both service and services', () => {
    expect(parse({ service: '', services: 'hello\nworld\n' }).services).toEqual(['hello', 'world']);
    expect(parse({ service: '', services: 'hello\nworld' }).service).toBe('hello');
    expect(errorOf(() => parse({ services: 'world' })).message).toBe(
      "Input 'services': give either 'service' or 'services', not both",
    );
    expect(errorOf(() => parse({ service: '', services: 'a\nBad' })).input).toBe('services');
    expect(errorOf(() => parse({ service: '', services: 'a\na' })).message).toBe(
      "Input 'services': lists a Service twice",
    );
  });

  it('lets advance go without a service (every annotated Service)', () => {
    const i = parse({ service: '', command: 'advance', image: '' });
    expect(i.services).toEqual([]);
    expect(i.service).toBe('');
  });

  it('reads progression', () => {
    expect(parse({ progression: 'scheduled' }).progression).toBe('scheduled');
    expect(errorOf(() => parse({ progression: 'nightly' })).message).toMatch(
      /^Input 'progression': "nightly" is not a progression: expected inline/,
    );
  });

  it('reads percent for promote only', () => {
    expect(parse({ command: 'promote', percent: '25' }).percent).toBe(25);
    expect(parse({ command: 'promote', percent: '' }).percent).toBeUndefined();
    expect(parse({ command: 'promote' }, { percent: '50%' }).percent).toBe(50);
    for (const bad of ['0', '101', '2.5', 'half'])
      expect(errorOf(() => parse({ command: 'promote', percent: bad })).message).toBe(
        `Input 'percent': "${bad}" is not a percent: expected a whole number from 1 to 100`,
      );
    expect(errorOf(() => parse({ command: 'status', percent: '10' })).message).toBe(
      "Input 'percent': is only for command promote, not status",
    );
  });

  it('replaces {{ sha }} in the image with the commit deployed', () => {
    const sha = 'f'.repeat(40);
    expect(parse({ image: 'ghcr.io/o/app:{{ sha }}' }, { sha }).image).toBe(`ghcr.io/o/app:${sha}`);
    expect(parse({ image: 'ghcr.io/o/app:{{sha}}' }, { sha }).revisionName).toBe('hello-fffffff');
    expect(errorOf(() => parse({ image: 'app:{{ ref }}' })).message).toBe(
      `Input 'image': "app:{{ ref }}" has a placeholder other than {{ sha }}`,
    );
    expect(errorOf(() => parse({ image: 'app:{{ sha }}' }, { sha: '' })).message).toBe(
      "Input 'image': uses {{ sha }}, but the commit sha (GITHUB_SHA) is not available",
    );
  });

  it("takes a comment command's tag and revision", () => {
    const i = parse({ command: 'rollback', image: '' }, { revision: 'hello-old', tag: 'pr-12' });
    expect(i.revisionName).toBe('hello-old');
    expect(i.revisionNameGiven).toBe(true);
    expect(i.tag).toBe('pr-12');
  });

  it('reads environment', () => {
    expect(parse({ environment: 'production' }).environment).toBe('production');
    expect(parse({}).environment).toBeUndefined();
  });
});
