// The real kubectl (v1.32) against the emulator: discovery, OpenAPI-driven client-side apply with default flags
// (server-side field validation, JSON merge patch for custom resources), server-side Tables, label selectors,
// the webhook's errors and delete.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const NAME = 'kubectl-split';
const ONE = `${NAME}-one`;
const TWO = `${NAME}-two`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The columns of a kubectl table: header names (separated by 2+ spaces) and each row cut at their offsets. */
function parseTable(text: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const [head, ...body] = lines;
  const cols = [...head.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], start: m.index }));
  const rows = body.map((line) =>
    Object.fromEntries(
      cols.map((c, i) => [c.name, line.slice(c.start, cols[i + 1]?.start ?? line.length).trim()]),
    ),
  );
  return { header: cols.map((c) => c.name), rows };
}

function manifest(template: string, image: string, traffic?: KObject[], name = NAME): KObject {
  const svc: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name },
    spec: { template: { metadata: { name: template }, spec: { containers: [{ image }] } } },
  };
  if (traffic) svc.spec.traffic = traffic;
  return svc;
}

const SPLIT: KObject[] = [
  { revisionName: ONE, percent: 80, tag: 'stable' },
  { latestRevision: true, percent: 20, tag: 'latest' },
];

describe('kubectl against the emulator', () => {
  let h: Harness;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const kubectl = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new Error(
              'kubectl is not on PATH: these tests drive the real kubectl binary (v1.32); install it ' +
                '(https://kubernetes.io/docs/tasks/tools/) and run them again',
            ),
          );
          return;
        }
        if (err && typeof err.code !== 'number') {
          reject(new Error(`kubectl ${args.join(' ')} did not finish: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      });
    });

  /** kubectl that must succeed. */
  const ok = async (...args: string[]): Promise<string> => {
    const r = await kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  const writeManifest = async (file: string, obj: KObject): Promise<string> => {
    const path = join(dir, file);
    await writeFile(path, stringify(obj));
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubectl-test-'));
    h = await startHarness();
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, h.emulator.kubeconfig(), { mode: 0o600 });
    // A fresh HOME, so kubectl's discovery and OpenAPI cache (~/.kube/cache) starts empty.
    const home = join(dir, 'home');
    await mkdir(home);
    env = { ...process.env, KUBECONFIG: kubeconfig, HOME: home };
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds kubectl (v1.32 or newer) on PATH', async () => {
    // Fails (never skips) with a clear message when kubectl is missing; every other test fails with it too.
    const version = JSON.parse(await ok('version', '--client', '-o', 'json'));
    expect(version.clientVersion.major).toBe('1');
    expect(Number.parseInt(version.clientVersion.minor, 10)).toBeGreaterThanOrEqual(32);
  });

  it('applies a Service with a BYO revision name, then a tagged 80/20 split, with default flags', async () => {
    const first = await writeManifest('one.yaml', manifest(ONE, 'ghcr.io/example/hello:v1'));
    expect((await ok('apply', '-f', first)).trim()).toBe(`service.serving.knative.dev/${NAME} created`);
    const svc1 = await h.settled(NAME);
    expect(svc1.status.latestReadyRevisionName).toBe(ONE);

    const split = await writeManifest('split.yaml', manifest(TWO, 'ghcr.io/example/hello:v2', SPLIT));
    expect((await ok('apply', '-f', split)).trim()).toBe(`service.serving.knative.dev/${NAME} configured`);
    const svc2 = await h.settled(NAME);
    expect(svc2.status.conditions.find((c: KObject) => c.type === 'Ready')?.status).toBe('True');

    const got = parse(await ok('get', 'ksvc', NAME, '-o', 'yaml'));
    expect(got.metadata.generation).toBe(2);
    expect(got.status.observedGeneration).toBe(2);
    expect(got.status.url).toBe(`http://${NAME}.default.example.com`);
    expect(got.status.latestCreatedRevisionName).toBe(TWO);
    expect(got.status.latestReadyRevisionName).toBe(TWO);
    expect(got.status.traffic).toEqual([
      {
        tag: 'stable',
        revisionName: ONE,
        percent: 80,
        latestRevision: false,
        url: `http://stable-${NAME}.default.example.com`,
      },
      {
        tag: 'latest',
        revisionName: TWO,
        percent: 20,
        latestRevision: true,
        url: `http://latest-${NAME}.default.example.com`,
      },
    ]);
    // The webhook's defaults are stored: the pinned target gets latestRevision false.
    expect(got.spec.traffic[0]).toEqual({
      revisionName: ONE,
      percent: 80,
      tag: 'stable',
      latestRevision: false,
    });
    expect(got.metadata.annotations['serving.knative.dev/creator']).toBeTruthy();
  });

  it('lists both revisions with the service label selector', async () => {
    const list = parse(
      await ok('get', 'revision', '-l', `serving.knative.dev/service=${NAME}`, '-o', 'yaml'),
    );
    expect(list.items.map((r: KObject) => r.metadata.name).sort()).toEqual([ONE, TWO]);
    for (const r of list.items) {
      expect(r.metadata.labels['serving.knative.dev/configuration']).toBe(NAME);
    }
    const table = parseTable(await ok('get', 'revision', '-l', `serving.knative.dev/service=${NAME}`));
    expect(table.rows.map((r) => r.NAME).sort()).toEqual([ONE, TWO]);
    // A selector that matches nothing lists nothing.
    const none = await kubectl('get', 'revision', '-l', 'serving.knative.dev/service=no-such-service');
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('');
    expect(none.stderr).toContain('No resources found in default namespace.');
  });

  it("prints Knative's printer columns for ksvc", async () => {
    const { header, rows } = parseTable(await ok('get', 'ksvc', NAME));
    expect(header).toEqual(['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON', 'AGE']);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      NAME,
      URL: `http://${NAME}.default.example.com`,
      LATESTCREATED: TWO,
      LATESTREADY: TWO,
      READY: 'True',
      REASON: '',
    });
    expect(row.AGE).toMatch(/^\d+[smhd]/);
  });

  it("prints Knative's printer columns for rev", async () => {
    const { header, rows } = parseTable(await ok('get', 'rev'));
    expect(header).toEqual([
      'NAME',
      'CONFIG NAME',
      'GENERATION',
      'READY',
      'REASON',
      'ACTUAL REPLICAS',
      'DESIRED REPLICAS',
      'AGE',
    ]);
    const byName = Object.fromEntries(rows.map((r) => [r.NAME, r]));
    expect(byName[ONE]).toMatchObject({ 'CONFIG NAME': NAME, GENERATION: '1', READY: 'True', REASON: '' });
    expect(byName[TWO]).toMatchObject({ 'CONFIG NAME': NAME, GENERATION: '2', READY: 'True', REASON: '' });
    // Both revisions have a pod: one is served by the split, the other by its tag.
    expect(byName[ONE]['ACTUAL REPLICAS']).toBe('1');
    expect(byName[TWO]['ACTUAL REPLICAS']).toBe('1');
  });

  it('re-applying a BYO-named file is refused, and a file matching the stored spec is unchanged', async () => {
    // The same file again. The API server stores the webhook's defaults inside arrays (containers[].name,
    // traffic[].latestRevision), so kubectl's three-way JSON merge patch for a custom resource re-sends those
    // arrays (kubernetes/kubernetes#66450): containers[0] loses its defaults. With the BYO template name unchanged
    // Knative does not default the template again (ConfigurationSpec.SetDefaults, configuration_defaults.go), so
    // VerifyNameChange (revision_validation.go) sees the lost defaults as a change and refuses the apply.
    const split = join(dir, 'split.yaml');
    const reapplied = await kubectl('apply', '-f', split);
    expect(reapplied.code).not.toBe(0);
    expect(reapplied.stderr).toContain(
      'denied the request: validation failed: Saw the following changes without a name change (-old +new): ' +
        'spec.template.metadata.name\n{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0].Name:\n' +
        '\t-: "user-container"\n\t+: ""\n',
    );
    const after = parse(await ok('get', 'ksvc', NAME, '-o', 'yaml'));
    expect(after.metadata.generation).toBe(2);
    const revs = parse(await ok('get', 'rev', '-l', `serving.knative.dev/service=${NAME}`, '-o', 'yaml'));
    expect(revs.items).toHaveLength(2);

    // A manifest written in the stored (defaulted) form: the first apply only records it as last-applied, the
    // second has nothing to send and kubectl says "unchanged".
    const stored = await writeManifest('stored.yaml', {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: NAME },
      spec: after.spec,
    });
    expect((await ok('apply', '-f', stored)).trim()).toBe(`service.serving.knative.dev/${NAME} configured`);
    const before = parse(await ok('get', 'ksvc', NAME, '-o', 'yaml'));
    expect(before.metadata.generation).toBe(2);
    expect((await ok('apply', '-f', stored)).trim()).toBe(`service.serving.knative.dev/${NAME} unchanged`);
    const again = parse(await ok('get', 'ksvc', NAME, '-o', 'yaml'));
    expect(again.metadata.generation).toBe(2);
    expect(again.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("fails with the webhook's message on an invalid manifest", async () => {
    const bad = await writeManifest(
      'bad.yaml',
      manifest(TWO, 'ghcr.io/example/hello:v2', [
        { revisionName: ONE, percent: 80, tag: 'stable' },
        { latestRevision: true, percent: 10, tag: 'latest' },
      ]),
    );
    const r = await kubectl('apply', '-f', bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ',
    );
    // The re-sent containers also count as a template change under the same name (see above); sorted first.
    expect(r.stderr).toContain('\nTraffic targets sum to 90, want 100: spec.traffic');
    // Nothing was stored.
    const svc = parse(await ok('get', 'ksvc', NAME, '-o', 'yaml'));
    expect(svc.metadata.generation).toBe(2);
    expect(svc.spec.traffic.map((t: KObject) => t.percent)).toEqual([80, 20]);

    // On create too: the Service is not created.
    const badNew = await writeManifest(
      'bad-new.yaml',
      manifest(
        'kubectl-bad-one',
        'ghcr.io/example/hello:v1',
        [{ latestRevision: true, percent: 90 }],
        'kubectl-bad',
      ),
    );
    const c = await kubectl('apply', '-f', badNew);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('Error from server (BadRequest)');
    expect(c.stderr).toContain('Traffic targets sum to 90, want 100: spec.traffic');
    const missing = await kubectl('get', 'ksvc', 'kubectl-bad');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('services.serving.knative.dev "kubectl-bad" not found');
  });

  it('deletes the Service, and its revisions go with it', async () => {
    expect((await ok('delete', 'ksvc', NAME)).trim()).toBe(`service.serving.knative.dev "${NAME}" deleted`);
    const gone = await kubectl('get', 'ksvc', NAME);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(
      `Error from server (NotFound): services.serving.knative.dev "${NAME}" not found`,
    );
    await h.waitFor(
      () => ok('get', 'rev', '-l', `serving.knative.dev/service=${NAME}`, '-o', 'name'),
      (out) => out.trim() === '',
      5000,
    );
  });
});
