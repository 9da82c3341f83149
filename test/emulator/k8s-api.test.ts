// Kubernetes API conventions through @kubernetes/client-node: discovery, CRUD, optimistic concurrency, patch
// types, the status subresource, generation, read-only kinds, garbage collection, and watch.

import { Watch, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const G = { group: 'serving.knative.dev', version: 'v1', namespace: 'default' };

describe('Kubernetes API conventions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ bookmarkIntervalMs: 50 });
  });
  afterAll(() => h.close());

  const raw = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${h.emulator.apiUrl}${path}`, init);
    return { status: res.status, body: (await res.json()) as KObject };
  };

  it('answers discovery with the serving.knative.dev group and its short names', async () => {
    expect((await raw('/version')).body).toMatchObject({ major: '1', minor: '32' });
    expect((await raw('/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await raw('/apis')).body;
    expect(groups.groups.map((g: KObject) => g.name)).toEqual(['serving.knative.dev']);
    const list = (await raw('/apis/serving.knative.dev/v1')).body;
    const svc = list.resources.find((r: KObject) => r.name === 'services');
    expect(svc).toMatchObject({ kind: 'Service', namespaced: true, shortNames: ['kservice', 'ksvc'] });
    expect(list.resources.map((r: KObject) => r.name)).toEqual(
      expect.arrayContaining(['services/status', 'configurations', 'revisions', 'routes']),
    );
  });

  it('answers a missing object with a NotFound Status', async () => {
    const { code, body } = await apiError(h.get('services', 'nope'));
    expect(code).toBe(404);
    expect(body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'services.serving.knative.dev "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'serving.knative.dev', kind: 'services' },
      code: 404,
    });
  });

  it('creates once and reports AlreadyExists after', async () => {
    const created = await h.create(service('a-create'));
    expect(created.metadata).toMatchObject({ name: 'a-create', namespace: 'default', generation: 1 });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const { code, body } = await apiError(h.create(service('a-create')));
    expect(code).toBe(409);
    expect(body.reason).toBe('AlreadyExists');
    expect(body.message).toBe('services.serving.knative.dev "a-create" already exists');
  });

  it('rejects an update with a stale resourceVersion (409) or none (422)', async () => {
    const created = await h.create(service('a-update'));
    // Once settled, the controllers write no more, so this read stays current until the update.
    const fresh = await h.settled('a-update');
    const updated = await h.api.replaceNamespacedCustomObject({
      ...G,
      plural: 'services',
      name: 'a-update',
      body: { ...fresh, metadata: { ...fresh.metadata, labels: { team: 'x' } } },
    });
    expect((updated as KObject).metadata.labels).toEqual({ team: 'x' });
    const stale = await apiError(
      h.api.replaceNamespacedCustomObject({ ...G, plural: 'services', name: 'a-update', body: fresh }),
    );
    expect(stale.code).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on services.serving.knative.dev "a-update": the object has been modified; ' +
        'please apply your changes to the latest version and try again',
    );
    const { resourceVersion: _rv, ...meta } = fresh.metadata;
    const none = await apiError(
      h.api.replaceNamespacedCustomObject({
        ...G,
        plural: 'services',
        name: 'a-update',
        body: { ...fresh, metadata: meta },
      }),
    );
    expect(none.code).toBe(422);
    expect(created.metadata.generation).toBe(1);
  });

  it('applies merge patches and JSON patches, and refuses strategic merge patches (415)', async () => {
    await h.create(service('a-patch'));
    const merged = await h.mergePatch('a-patch', { metadata: { labels: { a: '1' } } });
    expect(merged.metadata.labels).toEqual({ a: '1' });
    const json = (await h.api.patchNamespacedCustomObject({
      ...G,
      plural: 'services',
      name: 'a-patch',
      body: [{ op: 'add', path: '/metadata/labels/b', value: '2' }],
    })) as KObject;
    expect(json.metadata.labels).toEqual({ a: '1', b: '2' });
    const smp = await apiError(
      h.api.patchNamespacedCustomObject(
        { ...G, plural: 'services', name: 'a-patch', body: { metadata: { labels: { c: '3' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
    expect(smp.body.reason).toBe('UnsupportedMediaType');
    // A resourceVersion in a merge patch is a precondition.
    const stale = await apiError(
      h.mergePatch('a-patch', { metadata: { resourceVersion: '1', labels: { d: '4' } } }),
    );
    expect(stale.code).toBe(409);
  });

  it('grows generation only on spec changes, ignores status on the main resource, and writes status via /status', async () => {
    await h.create(service('a-gen'));
    await h.settled('a-gen');
    const labelled = await h.mergePatch('a-gen', {
      metadata: { labels: { x: 'y' } },
      status: { bogus: true },
    });
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status.bogus).toBeUndefined();
    const changed = await h.mergePatch('a-gen', {
      spec: { template: { spec: { containers: [{ image: 'x/y:2' }] } } },
    });
    expect(changed.metadata.generation).toBe(2);
    const s = await h.settled('a-gen');
    const status = (await h.api.patchNamespacedCustomObjectStatus(
      { ...G, plural: 'services', name: 'a-gen', body: { status: { note: 'hi' }, spec: { traffic: [] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as KObject;
    expect(status.status.note).toBe('hi');
    expect(status.spec).toEqual(s.spec);
    expect(status.metadata.generation).toBe(2);
  });

  it('keeps configurations and routes read-only, lets revisions be deleted, and collects what a Service owned', async () => {
    await h.create(service('a-gc'));
    await h.settled('a-gc');
    const cfgPatch = await apiError(
      h.api.patchNamespacedCustomObject(
        { ...G, plural: 'configurations', name: 'a-gc', body: { metadata: { labels: { a: 'b' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(cfgPatch.code).toBe(405);
    const routeDelete = await apiError(
      h.api.deleteNamespacedCustomObject({ ...G, plural: 'routes', name: 'a-gc' }),
    );
    expect(routeDelete.code).toBe(405);
    const revs = (await h.api.listNamespacedCustomObject({
      ...G,
      plural: 'revisions',
      labelSelector: 'serving.knative.dev/service=a-gc',
    })) as KObject;
    expect(revs.items.map((r: KObject) => r.metadata.name)).toEqual(['a-gc-00001']);
    expect(revs.kind).toBe('RevisionList');
    await h.api.deleteNamespacedCustomObject({ ...G, plural: 'services', name: 'a-gc' });
    for (const plural of ['configurations', 'routes', 'revisions']) {
      const name = plural === 'revisions' ? 'a-gc-00001' : 'a-gc';
      expect((await apiError(h.get(plural, name))).code).toBe(404);
    }
  });

  it('filters lists by label and field selectors', async () => {
    await h.create({
      ...service('a-sel-1'),
      metadata: { name: 'a-sel-1', labels: { app: 'sel', tier: 'a' } },
    });
    await h.create({
      ...service('a-sel-2'),
      metadata: { name: 'a-sel-2', labels: { app: 'sel', tier: 'b' } },
    });
    const names = async (q: { labelSelector?: string; fieldSelector?: string }) =>
      ((await h.api.listNamespacedCustomObject({ ...G, plural: 'services', ...q })) as KObject).items.map(
        (i: KObject) => i.metadata.name,
      );
    expect(await names({ labelSelector: 'app=sel' })).toEqual(['a-sel-1', 'a-sel-2']);
    expect(await names({ labelSelector: 'app=sel,tier!=a' })).toEqual(['a-sel-2']);
    expect(await names({ labelSelector: 'tier in (a, c)' })).toEqual(['a-sel-1']);
    expect(await names({ fieldSelector: 'metadata.name=a-sel-2' })).toEqual(['a-sel-2']);
  });
});

describe('watch', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ bookmarkIntervalMs: 50 });
  });
  afterAll(() => h.close());

  const PATH = '/apis/serving.knative.dev/v1/namespaces/default/services';

  function collect(query: Record<string, string | number | boolean | undefined>) {
    const events: { type: string; object: KObject }[] = [];
    let done: unknown = 'open';
    const w = new Watch(h.kc);
    const started = w.watch(
      PATH,
      query,
      (type, object) => events.push({ type, object }),
      (err) => {
        done = err ?? null;
      },
    );
    return { events, started, closed: () => done !== 'open' };
  }

  it('streams ADDED, MODIFIED and DELETED in order, and resumes from a resourceVersion', async () => {
    const list = (await h.api.listNamespacedCustomObject({ ...G, plural: 'services' })) as KObject;
    const from = list.metadata.resourceVersion;
    const w = collect({ resourceVersion: from, fieldSelector: 'metadata.name=w-one' });
    const ctrl = await w.started;
    await h.create(service('w-one'));
    await h.mergePatch('w-one', { metadata: { labels: { a: 'b' } } });
    await h.api.deleteNamespacedCustomObject({ ...G, plural: 'services', name: 'w-one' });
    await h.waitFor(
      () => w.events.map((e) => e.type),
      (t) => t.includes('DELETED'),
    );
    ctrl.abort();
    const types = w.events.map((e) => e.type);
    expect(types[0]).toBe('ADDED');
    expect(types[types.length - 1]).toBe('DELETED');
    expect(types.slice(1, -1).every((t) => t === 'MODIFIED')).toBe(true);
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);

    // Resuming after the first event replays only what came later.
    const resumed = collect({ resourceVersion: String(rvs[0]), fieldSelector: 'metadata.name=w-one' });
    const ctrl2 = await resumed.started;
    await h.waitFor(
      () => resumed.events.length,
      (n) => n === w.events.length - 1,
    );
    ctrl2.abort();
    expect(resumed.events.map((e) => e.object.metadata.resourceVersion)).toEqual(
      w.events.slice(1).map((e) => e.object.metadata.resourceVersion),
    );
  });

  it('sends an ERROR event with 410 Expired for a compacted resourceVersion', async () => {
    await h.create(service('w-old'));
    const old = (await h.get('services', 'w-old')).metadata.resourceVersion;
    await h.mergePatch('w-old', { metadata: { labels: { a: 'b' } } });
    await fetch(`${h.emulator.apiUrl}/emulator/compact`, { method: 'POST' });
    const w = collect({ resourceVersion: old });
    await w.started;
    await h.waitFor(
      () => w.events,
      (e) => e.length > 0,
    );
    expect(w.events[0].type).toBe('ERROR');
    expect(w.events[0].object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(w.events[0].object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('sends bookmarks when asked, and DELETED when an object leaves a label selector', async () => {
    await h.create({ ...service('w-label'), metadata: { name: 'w-label', labels: { watch: 'me' } } });
    const w = collect({ labelSelector: 'watch=me', allowWatchBookmarks: true });
    const ctrl = await w.started;
    await h.waitFor(
      () => w.events.map((e) => e.type),
      (t) => t.includes('ADDED') && t.includes('BOOKMARK'),
    );
    await h.mergePatch('w-label', { metadata: { labels: { watch: null } } });
    await h.waitFor(
      () => w.events.map((e) => e.type),
      (t) => t.includes('DELETED'),
    );
    ctrl.abort();
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).toMatchObject({ kind: 'Service', apiVersion: 'serving.knative.dev/v1' });
    expect(Number(bookmark.object.metadata.resourceVersion)).toBeGreaterThan(0);
    // The service still exists: it only stopped matching.
    expect((await h.get('services', 'w-label')).metadata.name).toBe('w-label');
  });
});
