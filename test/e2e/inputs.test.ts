// End to end: the built action refuses bad inputs with an error that names the input, before it writes anything
// (and, but for a Service that does not exist, before it talks to the cluster at all); and it never prints the
// kubeconfig's token.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
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
  /** The inputs; `kc` is the emulator's kubeconfig, for cases that spoil it. */
  inputs: (dir: string, kc: string) => Record<string, string>;
  /** The `::error::` message, escapes undone. */
  error: (dir: string) => string;
  /** Whether the action had to ask the cluster to find the problem. */
  readsCluster?: boolean;
  /** The outputs: none for a bad input; `failed` for a cluster that refused or could not be reached. */
  outputs?: Record<string, string>;
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
    error: () =>
      `Input 'manifest': no file "${missingManifest}": check the path, and that actions/checkout runs before this step`,
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
    name: 'no kubeconfig at all (an empty secret)',
    inputs: () => ({ image, kubeconfig: '' }),
    error: () =>
      "Input 'kubeconfig': is empty, and there is no KUBECONFIG, ~/.kube/config or in-cluster service account to " +
      "use instead: give the kubeconfig's contents, from a secret (secrets are empty on pull requests from forks)",
  },
  {
    name: 'a kubeconfig without current-context',
    inputs: (_d, kc) => ({ image, kubeconfig: kc.replace(/^current-context:.*$/m, '') }),
    error: () =>
      "Input 'kubeconfig': has no current-context: set current-context in it, or give 'context' (it has: emulator)",
  },
  {
    name: 'a kubeconfig whose current-context is not one of its contexts',
    inputs: (_d, kc) => ({ image, kubeconfig: kc.replace(/^current-context:.*$/m, 'current-context: prod') }),
    error: () =>
      `Input 'kubeconfig': its current-context "prod" is not one of its contexts (it has: emulator): fix ` +
      "current-context, or give 'context'",
  },
  {
    name: 'a path given instead of the contents',
    inputs: () => ({ image, kubeconfig: '~/.kube/config' }),
    error: () =>
      `Input 'kubeconfig': "~/.kube/config" is a file path, not a kubeconfig: give the file's contents (a ` +
      "secret, such as ${{ secrets.KUBECONFIG }}), or set KUBECONFIG to the path in the step's env and leave " +
      "'kubeconfig' empty",
  },
  {
    name: 'a base64-encoded kubeconfig',
    inputs: (_d, kc) => ({ image, kubeconfig: Buffer.from(kc).toString('base64') }),
    error: () =>
      "Input 'kubeconfig': is base64-encoded; give the kubeconfig's YAML itself (decode it with `base64 -d` " +
      'before storing the secret)',
  },
  {
    name: 'a token the API server refuses',
    inputs: (_d, kc) => ({ image, kubeconfig: kc.replace(/token: .*/, 'token: not-a-valid-token') }),
    error: () =>
      "reading Service default/hello: Unauthorized (HTTP 401): the API server refused the kubeconfig's " +
      "credentials (an expired or revoked token, or one of another cluster): give 'kubeconfig' a current one",
    readsCluster: true,
    outputs: { command: 'deploy', status: 'failed' },
  },
  {
    name: 'an API server nobody answers at',
    inputs: (_d, kc) => ({ image, kubeconfig: kc.replace(/server: .*/, 'server: http://127.0.0.1:65530') }),
    error: () =>
      'reading Service default/hello: cannot reach the API server at http://127.0.0.1:65530 (ECONNREFUSED): check ' +
      "the kubeconfig's server address, and that the runner can reach it (a private cluster needs a " +
      'self-hosted runner in its network)',
    outputs: { command: 'deploy', status: 'failed' },
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
    const r = await f.run(c.inputs(f.dir, f.h.emulator.kubeconfig()));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(errorLines(r.stdout)).toEqual([`::error::${c.error(f.dir)}`]);
    expect(r.outputs).toEqual(c.outputs ?? {});
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

  it('masks the credentials of smoke-test and webhook headers, and no other header value', async () => {
    const r = await f.run({
      image,
      'revision-name': 'hello-v2',
      'dry-run': 'true',
      'smoke-tests': '- path: /\n  headers: {Authorization: Bearer smoke-t0ken, X-Org: acme}',
      webhooks: JSON.stringify([
        {
          name: 'gate',
          type: 'pre-rollout',
          url: 'https://ci:hook-pa55@hooks.example.com/gate',
          headers: { 'X-Api-Key': 'k3y-1', 'X-Team': 'payments' },
        },
      ]),
    });
    expect(r.code, r.stdout).toBe(0);
    const masks = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    expect(masks).toEqual(
      expect.arrayContaining(['Bearer smoke-t0ken', 'smoke-t0ken', 'k3y-1', 'hook-pa55']),
    );
    expect(masks).not.toContain('acme');
    expect(masks).not.toContain('payments');
  });
});

describe('credentials from an exec plugin (as EKS and GKE kubeconfigs get them)', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(() => f?.close());

  it("runs the kubeconfig's exec command for a token, as `aws eks get-token` or `gke-gcloud-auth-plugin` run", async () => {
    const plugin = join(f.dir, 'get-token.sh');
    writeFileSync(
      plugin,
      '#!/bin/sh\n' +
        `echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",` +
        `"status":{"token":"${f.h.emulator.token}"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const kubeconfig = f.h.emulator
      .kubeconfig()
      .replace(
        /user:\n\s+token: .*/,
        `user:\n      exec:\n        apiVersion: client.authentication.k8s.io/v1beta1\n        command: ${plugin}\n        interactiveMode: Never`,
      );
    expect(kubeconfig).toContain('exec:');
    expect(kubeconfig).not.toContain(f.h.emulator.token);
    const r = await f.run({ command: 'status', kubeconfig });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('unchanged');
    expect(f.h.emulator.api.requests.length).toBeGreaterThan(0);
  });
});

describe('in-cluster credentials (a self-hosted runner in the cluster)', () => {
  let f: Fixture;
  let proxy: TlsServer | undefined;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(async () => {
    proxy?.close();
    await f?.close();
  });

  // client-node's loadFromCluster (src/config.ts) reads the service account's files at their fixed paths
  // (/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}) and talks https to
  // KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, trusting only that ca.crt, as in a pod. So the action runs in a
  // mount namespace of its own (unshare) with those files mounted there, and the emulator's API is served over TLS
  // with a certificate that ca.crt holds.
  it('with kubeconfig left empty, uses the mounted service account: its token and CA, over https', async () => {
    const sa = join(f.dir, 'serviceaccount');
    mkdirSync(sa);
    const key = join(f.dir, 'tls.key');
    execFileSync(
      'openssl',
      [
        ...[
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
        ],
        ...['-subj', '/CN=kubernetes', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ...['-keyout', key, '-out', join(sa, 'ca.crt')],
      ],
      { stdio: 'ignore' },
    );
    const user = 'system:serviceaccount:default:deployer';
    writeFileSync(join(sa, 'token'), f.h.emulator.tokenOf(user));
    writeFileSync(join(sa, 'namespace'), 'default');
    // TLS in front of the emulator's plain-HTTP API: each connection is decrypted and passed on as it is.
    const api = new URL(f.h.emulator.apiUrl);
    let handshakes = 0;
    proxy = createTlsServer({ key: readFileSync(key), cert: readFileSync(join(sa, 'ca.crt')) }, (socket) => {
      handshakes++;
      const upstream = connect(Number(api.port), api.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;

    const mount =
      'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && ' +
      'cp "$SA"/* /run/secrets/kubernetes.io/serviceaccount/ && exec "$@"';
    const before = f.h.emulator.api.requests.length;
    const r = await f.run(
      { command: 'status', kubeconfig: '' },
      {
        env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port), SA: sa },
        wrap: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', mount, 'sh'],
      },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('unchanged');
    const requests = f.h.emulator.api.requests.slice(before);
    expect(requests.length).toBeGreaterThan(0);
    // Every request came through TLS, authenticated with the mounted token.
    expect(handshakes).toBeGreaterThan(0);
    expect(new Set(requests.map((q) => q.user))).toEqual(new Set([user]));
  });

  it('without the mounted token, KUBERNETES_SERVICE_HOST alone is not taken for in-cluster credentials', async () => {
    const r = await f.run(
      { command: 'status', kubeconfig: '' },
      { env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' } },
    );
    expect(r.code).toBe(1);
    expect(errorLines(r.stdout)).toEqual([
      "::error::Input 'kubeconfig': is empty, and there is no KUBECONFIG, ~/.kube/config or in-cluster service account to " +
        "use instead: give the kubeconfig's contents, from a secret (secrets are empty on pull requests from forks)",
    ]);
  });
});
