// npm run demo: a rollout rehearsed against the built-in Knative Serving emulator.
//
// Until the action itself lands (issue 3), this walks the same steps by hand with @kubernetes/client-node:
// a new revision at 0% under a tag, a smoke test of its tag URL through the gateway, stepped traffic, and a
// faulty release rolled back to the stable revision. It prints what each step saw.

import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { startEmulator } from '../test/emulator/emulator.ts';
import type { KObject } from '../test/emulator/util.ts';

const NS = 'default';
const SVC = 'hello';
const group = 'serving.knative.dev';
const version = 'v1';

const emulator = await startEmulator({ seed: 7, ingressDelayMs: 50 });
const kc = new KubeConfig();
kc.loadFromString(emulator.kubeconfig());
const api = kc.makeApiClient(CustomObjectsApi);
const dispatcher = new Agent({ connections: 16 });

const log = (line = '') => process.stdout.write(`${line}\n`);
const group_ = (title: string) => log(`::group::${title}`);
const endGroup = () => log('::endgroup::');

const get = () =>
  api.getNamespacedCustomObject({
    group,
    version,
    namespace: NS,
    plural: 'services',
    name: SVC,
  }) as Promise<KObject>;
const patch = (body: object) =>
  api.patchNamespacedCustomObject(
    { group, version, namespace: NS, plural: 'services', name: SVC, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  ) as Promise<KObject>;

async function settle(what: (s: KObject) => boolean, timeoutMs = 10_000): Promise<KObject> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await get();
    const ready = s.status?.conditions?.find((c: KObject) => c.type === 'Ready');
    if (s.status?.observedGeneration === s.metadata.generation && ready?.status !== 'Unknown' && what(s))
      return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${SVC}: ${JSON.stringify(s.status)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function probe(host: string, n: number): Promise<Map<string, { ok: number; errors: number }>> {
  const out = new Map<string, { ok: number; errors: number }>();
  await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await request(emulator.gatewayUrl, { headers: { host }, dispatcher });
      const body = (await res.body.json()) as { revision: string };
      const c = out.get(body.revision) ?? { ok: 0, errors: 0 };
      if (res.statusCode < 500) c.ok++;
      else c.errors++;
      out.set(body.revision, c);
    }),
  );
  return out;
}

const fmt = (m: Map<string, { ok: number; errors: number }>) =>
  [...m.entries()]
    .sort()
    .map(([rev, c]) => `${rev}: ${c.ok + c.errors} requests, ${c.errors} errors`)
    .join('; ');

const traffic = (s: KObject) =>
  (s.status?.traffic ?? [])
    .map((t: KObject) => `${t.revisionName}=${t.percent}%${t.tag ? ` (tag ${t.tag})` : ''}`)
    .join(', ');

const template = (name: string, image: string, env: Record<string, string> = {}) => ({
  metadata: { name },
  spec: { containers: [{ image, env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) }] },
});

const split = (stable: string, candidate: string, percent: number) => [
  { revisionName: stable, percent: 100 - percent, tag: 'stable' },
  { revisionName: candidate, percent, tag: 'latest' },
];

async function release(
  name: string,
  image: string,
  env: Record<string, string>,
  stable: string,
): Promise<boolean> {
  group_(`Deploy ${name} at 0% under tag "latest"`);
  await patch({
    spec: {
      template: template(name, image, env),
      traffic: [
        { revisionName: stable, percent: 100, tag: 'stable' },
        { latestRevision: true, percent: 0, tag: 'latest' },
      ],
    },
  });
  let s = await settle((x) => x.status?.latestReadyRevisionName === name);
  log(`revision ${name} is Ready; traffic: ${traffic(s)}`);
  endGroup();

  const tagHost = `latest-${SVC}.${NS}.${emulator.domain}`;
  group_(`Smoke test http://${tagHost}/ through the gateway`);
  const smoke = await probe(tagHost, 20);
  log(fmt(smoke));
  endGroup();

  for (const percent of [10, 50, 100]) {
    group_(`Step: ${percent}% to ${name}`);
    await patch({ spec: { traffic: split(stable, name, percent) } });
    s = await settle((x) =>
      x.status?.traffic?.some((t: KObject) => t.revisionName === name && t.percent === percent),
    );
    log(`route reports: ${traffic(s)}`);
    const seen = await probe(tagHost, 200);
    const c = seen.get(name) ?? { ok: 0, errors: 0 };
    const rate = c.errors / Math.max(1, c.ok + c.errors);
    log(
      `candidate probe: ${c.ok + c.errors} requests, ${c.errors} errors (${(rate * 100).toFixed(1)}%, limit 1.0%)`,
    );
    const users = await probe(`${SVC}.${NS}.${emulator.domain}`, 200);
    log(`service host: ${fmt(users)}`);
    if (rate > 0.01) {
      log(`::error::error rate ${(rate * 100).toFixed(1)}% is over 1.0%: rolling back to ${stable}`);
      await patch({
        spec: {
          traffic: [
            { revisionName: stable, percent: 100, tag: 'stable' },
            { latestRevision: true, percent: 0, tag: 'latest' },
          ],
        },
      });
      s = await settle((x) =>
        x.status?.traffic?.some((t: KObject) => t.revisionName === stable && t.percent === 100),
      );
      log(`rolled back; traffic: ${traffic(s)}`);
      endGroup();
      return false;
    }
    endGroup();
  }
  await patch({
    spec: {
      traffic: [
        { revisionName: name, percent: 100, tag: 'stable' },
        { latestRevision: true, percent: 0, tag: 'latest' },
      ],
    },
  });
  s = await settle((x) =>
    x.status?.traffic?.some((t: KObject) => t.tag === 'stable' && t.revisionName === name),
  );
  log(`promoted ${name}; traffic: ${traffic(s)}`);
  return true;
}

try {
  log(`Knative Serving emulator: API ${emulator.apiUrl}, gateway ${emulator.gatewayUrl}`);
  group_('Create the service with its first revision, hello-v1');
  await api.createNamespacedCustomObject({
    group,
    version,
    namespace: NS,
    plural: 'services',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'Service',
      metadata: { name: SVC },
      spec: {
        template: template('hello-v1', 'ghcr.io/example/hello:v1'),
        traffic: [{ revisionName: 'hello-v1', percent: 100, tag: 'stable' }],
      },
    },
  });
  const first = await settle((s) => s.status?.latestReadyRevisionName === 'hello-v1');
  log(`hello-v1 is Ready at ${first.status.url}; traffic: ${traffic(first)}`);
  endGroup();

  const healthy = await release('hello-v2', 'ghcr.io/example/hello:v2', {}, 'hello-v1');
  const faulty = await release(
    'hello-v3',
    'ghcr.io/example/hello:v3',
    { EMULATOR_ERROR_RATE: '0.2' },
    'hello-v2',
  );
  log();
  log(
    `hello-v2: ${healthy ? 'promoted' : 'rolled back'}; hello-v3 (20% errors injected): ${faulty ? 'promoted' : 'rolled back'}`,
  );
  if (!healthy || faulty) process.exitCode = 1;
} finally {
  await dispatcher.close();
  await emulator.close();
}
