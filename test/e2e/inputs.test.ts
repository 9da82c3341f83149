// End to end: the built action refuses bad inputs with an error that names the input, before it writes anything
// (and, but for a Service that does not exist, before it talks to the cluster at all); and it never prints the
// kubeconfig's token.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture, writeManifest, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

const DNS1035 =
  "expected a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, ending with a letter " +
  'or digit, at most 63 characters)';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  template:
    spec:
      containers: [{name: hello, image: ghcr.io/example/hello:v2}]
`;

interface Case {
  name: string;
  inputs: (dir: string) => Record<string, string>;
  /** The `::error::` message, escapes undone. */
  error: (dir: string) => string;
  /** Whether the action had to ask the cluster to find the problem. */
  readsCluster?: boolean;
}

const image = 'ghcr.io/example/hello:v2';
const missingManifest = join(tmpdir(), 'knative-canary-no-such-dir', 'svc.yaml');

const cases: Case[] = [
  {
    name: 'steps that do not increase',
    inputs: () => ({ image, steps: '50,10' }),
    error: () => `Input 'steps': steps must increase: 10 comes after 50 in "50,10"`,
  },
  {
    name: 'a step over 100',
    inputs: () => ({ image, steps: '10,150' }),
    error: () => "Input 'steps': 150 is out of range: each step must be a percent from 1 to 100",
  },
  {
    name: 'a malformed interval',
    inputs: () => ({ image, interval: '5 minutes' }),
    error: () =>
      `Input 'interval': "5 minutes" is not a duration: expected a positive duration like 30s, 5m, 1h or 1m30s (a bare number is seconds)`,
  },
  {
    name: 'a service name not a DNS label',
    inputs: () => ({ image, service: 'Hello_World' }),
    error: () => `Input 'service': "Hello_World" is not a valid Service name: ${DNS1035}`,
  },
  {
    name: 'revision-name without the service prefix',
    inputs: () => ({ image, 'revision-name': 'other-v2' }),
    error: () => `Input 'revision-name': "other-v2" must start with the service name and a dash: "hello-"`,
  },
  {
    name: 'an unreadable manifest path',
    inputs: () => ({ manifest: missingManifest }),
    error: () => `Input 'manifest': cannot read "${missingManifest}": ENOENT`,
  },
  {
    name: 'a manifest that is a Deployment',
    inputs: (dir) => ({ manifest: join(dir, 'deployment.yaml') }),
    error: (dir) =>
      `Input 'manifest': "${join(dir, 'deployment.yaml')}" must hold exactly one Knative Service ` +
      '(apiVersion serving.knative.dev/v1, kind Service); found apps/v1 Deployment',
  },
  {
    name: 'an env name Knative reserves',
    inputs: () => ({ image, env: 'PORT=9000' }),
    error: () =>
      "Input 'env': line 1: PORT is set by Knative in every revision (it reserves PORT, K_SERVICE, " +
      'K_CONFIGURATION, K_REVISION), and its webhook refuses a template that sets it: use another name',
  },
  {
    name: 'a context not in the kubeconfig',
    inputs: () => ({ image, context: 'production' }),
    error: () => `Input 'context': no context "production" in the kubeconfig (it has: emulator)`,
  },
  {
    name: 'a Service that does not exist',
    inputs: () => ({ image, service: 'nope' }),
    error: () =>
      `Input 'service': Service "nope" not found in namespace "default": create it first (kubectl apply) or check 'namespace'`,
    readsCluster: true,
  },
];

describe('bad inputs', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
    writeManifest(f.dir, 'deployment.yaml', DEPLOYMENT);
  });
  afterAll(() => f?.close());
  beforeEach(() => {
    f.h.emulator.api.requests.length = 0;
  });

  it.each(cases)('fails on $name, naming the input, and writes nothing', async (c) => {
    const r = await f.run(c.inputs(f.dir));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(errorLines(r.stdout)).toEqual([`::error::${c.error(f.dir)}`]);
    expect(r.outputs).toEqual({});
    expect(f.writes()).toEqual([]);
    // The job summary carries the same message.
    expect(r.summary).toContain(c.error(f.dir));
    if (c.readsCluster) {
      expect(f.h.emulator.api.requests.length).toBeGreaterThan(0);
    } else {
      expect(f.h.emulator.api.requests).toEqual([]);
    }
  });

  it('leaves the Service as it was', async () => {
    expect(await f.percents()).toEqual({ 'hello-00001': 100 });
    expect(await f.revisions()).toEqual(['hello-00001']);
  });
});

describe('the kubeconfig token', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(() => f?.close());
  beforeEach(() => {
    f.h.emulator.api.requests.length = 0;
  });

  it('is masked, and printed nowhere else, with debug logging on', async () => {
    const { token } = f.h.emulator;
    expect(token.length).toBeGreaterThan(16);
    const runs = [
      // A dry run prints the patch it would send; a status run reports; a bad context fails after the
      // kubeconfig was read; a bad input fails before anything.
      await f.run({ image, 'revision-name': 'hello-v2', 'dry-run': 'true' }, { env: { RUNNER_DEBUG: '1' } }),
      await f.run({ command: 'status' }, { env: { RUNNER_DEBUG: '1' } }),
      await f.run({ image, context: 'production' }, { env: { RUNNER_DEBUG: '1' } }),
      await f.run({ image, steps: '50,10' }, { env: { RUNNER_DEBUG: '1' } }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 1, 1]);
    for (const r of runs) {
      const lines = r.stdout.split('\n');
      expect(lines).toContain(`::add-mask::${token}`);
      expect(lines.filter((l) => l.includes(token) && l !== `::add-mask::${token}`)).toEqual([]);
      expect(r.stderr).not.toContain(token);
      expect(r.summary).not.toContain(token);
      expect(JSON.stringify(r.outputs)).not.toContain(token);
    }
    // The runs did talk to the cluster with it.
    expect(f.h.emulator.api.requests.length).toBeGreaterThan(0);
    expect(f.writes()).toEqual([]);
  });
});
