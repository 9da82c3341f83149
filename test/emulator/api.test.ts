// The Kubernetes API conventions of the emulator's serving.knative.dev/v1 resources, through
// @kubernetes/client-node and plain HTTP: discovery, get/list with selectors, create, Status errors, optimistic
// concurrency, patch content types, the status subresource, generation, read-only kinds, garbage collection and
// watch (ordering, resume, 410 Expired after compaction, bookmarks, label selectors).

import { PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION, apiError, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const NS = 'default';
const G = { group: GROUP, version: VERSION, namespace: NS };
const SVC = { ...G, plural: 'services' };
const SERVICES_PATH = `/apis/${GROUP}/${VERSION}/namespaces/${NS}/services`;
const CONFLICT = (name: string) =>
  `Operation cannot be fulfilled on services.serving.knative.dev "${name}": the object has been modified; ` +
  'please apply your changes to the latest version and try again';

const labelled = (name: string, labels: Record<string, string>): KObject => {
  const svc = service(name);
  svc.metadata.labels = labels;
  return svc;
};

describe('Kubernetes API conventions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ bookmarkIntervalMs: 50 });
  });
  afterAll(() => h.close());

  const http = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${h.emulator.apiUrl}${path}`, init);
    return { status: res.status, body: (await res.json()) as KObject };
  };
  const list = (plural: string, q: { labelSelector?: string; fieldSelector?: string } = {}) =>
    h.api.listNamespacedCustomObject({ ...G, plural, ...q }) as Promise<KObject>;
  const names = async (plural: string, q: { labelSelector?: string; fieldSelector?: string } = {}) =>
    (await list(plural, q)).items.map((i: KObject) => i.metadata.name);
  const replace = (name: string, body: KObject) =>
    h.api.replaceNamespacedCustomObject({ ...SVC, name, body }) as Promise<KObject>;
  /** client-node's default patch content type is application/json-patch+json. */
  const jsonPatch = (name: string, ops: KObject[], plural = 'services') =>
    h.api.patchNamespacedCustomObject({ ...G, plural, name, body: ops }) as Promise<KObject>;
  const remove = (plural: string, name: string) =>
    h.api.deleteNamespacedCustomObject({ ...G, plural, name }) as Promise<KObject>;

  describe('discovery', () => {
    it('serves /version, /api and /apis', async () => {
      const version = await http('/version');
      expect(version.status).toBe(200);
      expect(version.body).toMatchObject({ major: expect.any(String), minor: expect.any(String) });
      expect(version.body.gitVersion).toMatch(/^v\d+\.\d+\.\d+/);

      const api = await http('/api');
      expect(api.status).toBe(200);
      expect(api.body.kind).toBe('APIVersions');
      expect(api.body.versions).toContain('v1');

      const apis = await http('/apis');
      expect(apis.status).toBe(200);
      expect(apis.body).toMatchObject({ kind: 'APIGroupList', apiVersion: 'v1' });
      const serving = apis.body.groups.find((g: KObject) => g.name === GROUP);
      expect(serving).toEqual({
        name: GROUP,
        versions: [{ groupVersion: `${GROUP}/${VERSION}`, version: VERSION }],
        preferredVersion: { groupVersion: `${GROUP}/${VERSION}`, version: VERSION },
      });
    });

    it('lists the serving.knative.dev/v1 resources, services with short names ksvc and kservice', async () => {
      const { status, body } = await http(`/apis/${GROUP}/${VERSION}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ kind: 'APIResourceList', groupVersion: `${GROUP}/${VERSION}` });
      const byName = new Map<string, KObject>(body.resources.map((r: KObject) => [r.name, r]));
      const services = byName.get('services')!;
      expect(services).toMatchObject({ kind: 'Service', singularName: 'service', namespaced: true });
      expect([...services.shortNames].sort()).toEqual(['kservice', 'ksvc']);
      expect(services.verbs).toEqual(
        expect.arrayContaining(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']),
      );
      expect(byName.get('services/status')).toMatchObject({ kind: 'Service', namespaced: true });
      expect(byName.get('services/status')!.verbs).toEqual(
        expect.arrayContaining(['get', 'patch', 'update']),
      );
      for (const [name, kind] of [
        ['configurations', 'Configuration'],
        ['revisions', 'Revision'],
        ['routes', 'Route'],
      ]) {
        expect(byName.get(name)).toMatchObject({ kind, namespaced: true });
      }
    });

    it('answers an unknown path with a NotFound Status', async () => {
      const { status, body } = await http(`/apis/${GROUP}/${VERSION}/namespaces/${NS}/widgets`);
      expect(status).toBe(404);
      expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 });
    });
  });

  describe('get and list', () => {
    beforeAll(async () => {
      await h.create(labelled('api-list-a', { 'list-team': 'x' }));
      await h.create(labelled('api-list-b', { 'list-team': 'y' }));
      await Promise.all([h.settled('api-list-a'), h.settled('api-list-b')]);
    });

    it('gets an object with its kind and apiVersion', async () => {
      const svc = await h.get('services', 'api-list-a');
      expect(svc).toMatchObject({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Service',
        metadata: { name: 'api-list-a', namespace: NS, labels: { 'list-team': 'x' } },
      });
    });

    it('lists with a List kind, a resourceVersion and typed items', async () => {
      const all = await list('services', { labelSelector: 'list-team' });
      expect(all.kind).toBe('ServiceList');
      expect(all.apiVersion).toBe(`${GROUP}/${VERSION}`);
      expect(all.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(all.items.map((i: KObject) => [i.kind, i.metadata.name])).toEqual([
        ['Service', 'api-list-a'],
        ['Service', 'api-list-b'],
      ]);
    });

    it('filters by label selector', async () => {
      expect(await names('services', { labelSelector: 'list-team=x' })).toEqual(['api-list-a']);
      expect(await names('services', { labelSelector: 'list-team!=x,list-team' })).toEqual(['api-list-b']);
      expect(await names('services', { labelSelector: 'list-team in (y,z)' })).toEqual(['api-list-b']);
      expect(await names('services', { labelSelector: 'list-team=nobody' })).toEqual([]);
    });

    it("lists a service's revisions by the serving.knative.dev/service label", async () => {
      const revs = await list('revisions', { labelSelector: 'serving.knative.dev/service=api-list-a' });
      expect(revs.kind).toBe('RevisionList');
      expect(revs.items.map((r: KObject) => r.metadata.name)).toEqual(['api-list-a-00001']);
      expect(revs.items[0].metadata.labels).toMatchObject({
        'serving.knative.dev/service': 'api-list-a',
        'serving.knative.dev/configuration': 'api-list-a',
        'serving.knative.dev/configurationGeneration': '1',
      });
      expect(await names('revisions', { labelSelector: 'serving.knative.dev/service=api-list-b' })).toEqual([
        'api-list-b-00001',
      ]);
    });

    it('filters by the metadata.name field selector', async () => {
      expect(await names('services', { fieldSelector: 'metadata.name=api-list-b' })).toEqual(['api-list-b']);
      expect(await names('services', { fieldSelector: 'metadata.name=api-list-none' })).toEqual([]);
      const others = await names('services', { fieldSelector: 'metadata.name!=api-list-b' });
      expect(others).toContain('api-list-a');
      expect(others).not.toContain('api-list-b');
      expect(await names('routes', { fieldSelector: 'metadata.name=api-list-a' })).toEqual(['api-list-a']);
    });

    it('rejects a selector it cannot parse with 400', async () => {
      const { code, body } = await apiError(list('services', { labelSelector: 'list-team in (x' }));
      expect(code).toBe(400);
      expect(body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
    });
  });

  describe('create and errors', () => {
    it('creates with 201 and fills the server-owned metadata', async () => {
      const res = await fetch(`${h.emulator.apiUrl}${SERVICES_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.emulator.token}` },
        body: JSON.stringify(service('api-create')),
      });
      expect(res.status).toBe(201);
      const created = (await res.json()) as KObject;
      expect(created).toMatchObject({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Service',
        metadata: { name: 'api-create', namespace: NS, generation: 1 },
      });
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect((await h.get('services', 'api-create')).metadata.uid).toBe(created.metadata.uid);
    });

    it('answers a second create of the same name with 409 AlreadyExists', async () => {
      await h.create(service('api-exists'));
      const { code, body } = await apiError(
        h.create(service('api-exists', { image: 'ghcr.io/example/x:2' })),
      );
      expect(code).toBe(409);
      expect(body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'services.serving.knative.dev "api-exists" already exists',
        reason: 'AlreadyExists',
        details: { name: 'api-exists', group: GROUP, kind: 'services' },
        code: 409,
      });
      expect((await h.get('services', 'api-exists')).spec.template.spec.containers[0].image).toBe(
        'ghcr.io/example/hello:v1',
      );
    });

    it('answers a missing object with a NotFound Status, for get, patch and delete', async () => {
      const expected = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'services.serving.knative.dev "x" not found',
        reason: 'NotFound',
        details: { name: 'x', group: GROUP, kind: 'services' },
        code: 404,
      };
      const get = await apiError(h.get('services', 'x'));
      expect(get.code).toBe(404);
      expect(get.body).toEqual(expected);
      const patch = await apiError(h.mergePatch('x', { metadata: { labels: { a: 'b' } } }));
      expect(patch.code).toBe(404);
      expect(patch.body).toEqual(expected);
      const del = await apiError(remove('services', 'x'));
      expect(del.code).toBe(404);
      expect(del.body).toEqual(expected);
    });

    it('drops .status on create, as a CRD with a status subresource does', async () => {
      const svc = service('api-create-status');
      svc.status = { url: 'http://forged.example.com', observedGeneration: 7 };
      const created = await h.create(svc);
      expect(created.status?.url).toBeUndefined();
      expect(created.status?.observedGeneration).toBeUndefined();
      // customResourceStrategy.PrepareForCreate deletes status outright.
      expect(created).not.toHaveProperty('status');
    });
  });

  describe('update and patch', () => {
    it('replaces with the current resourceVersion, and answers a stale one with 409 Conflict', async () => {
      await h.create(service('api-update'));
      // Once settled, the controllers write no more, so this read stays current until the update.
      const fresh = await h.settled('api-update');
      const updated = await replace('api-update', {
        ...fresh,
        metadata: { ...fresh.metadata, labels: { team: 'x' } },
      });
      expect(updated.metadata.labels).toEqual({ team: 'x' });
      expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(
        Number(fresh.metadata.resourceVersion),
      );

      const stale = await apiError(
        replace('api-update', { ...fresh, metadata: { ...fresh.metadata, labels: {} } }),
      );
      expect(stale.code).toBe(409);
      expect(stale.body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: CONFLICT('api-update'),
        reason: 'Conflict',
        details: { name: 'api-update', group: GROUP, kind: 'services' },
        code: 409,
      });
      expect((await h.get('services', 'api-update')).metadata.labels).toEqual({ team: 'x' });
    });

    it('checks the resourceVersion precondition before admission: stale and invalid is 409, not 400', async () => {
      await h.create(service('api-stale-invalid'));
      const fresh = await h.settled('api-stale-invalid');
      await h.mergePatch('api-stale-invalid', { metadata: { labels: { bump: '1' } } });
      const invalid = structuredClone(fresh);
      invalid.spec.traffic = [{ latestRevision: true, percent: 5 }];
      const { code, body } = await apiError(replace('api-stale-invalid', invalid));
      expect(code).toBe(409);
      expect(body.message).toBe(CONFLICT('api-stale-invalid'));
    });

    it('treats a resourceVersion inside a merge patch as a precondition', async () => {
      await h.create(service('api-patch-rv'));
      const fresh = await h.settled('api-patch-rv');
      const ok = await h.mergePatch('api-patch-rv', {
        metadata: { resourceVersion: fresh.metadata.resourceVersion, labels: { a: '1' } },
      });
      expect(ok.metadata.labels).toEqual({ a: '1' });
      const stale = await apiError(
        h.mergePatch('api-patch-rv', {
          metadata: { resourceVersion: fresh.metadata.resourceVersion, labels: { a: '2' } },
        }),
      );
      expect(stale.code).toBe(409);
      expect(stale.body.message).toBe(CONFLICT('api-patch-rv'));
    });

    it('answers an update without a resourceVersion with 422 Invalid', async () => {
      await h.create(service('api-no-rv'));
      const fresh = await h.settled('api-no-rv');
      const { resourceVersion: _rv, ...meta } = fresh.metadata;
      const { code, body } = await apiError(
        replace('api-no-rv', { ...fresh, metadata: { ...meta, labels: { a: 'b' } } }),
      );
      expect(code).toBe(422);
      expect(body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
      expect((await h.get('services', 'api-no-rv')).metadata.resourceVersion).toBe(
        fresh.metadata.resourceVersion,
      );
    });

    it("words the 422 as the registry does: the plural resource (Store.Update's qualifiedKind), Invalid value 0x0", async () => {
      await h.create(service('api-no-rv-msg'));
      const fresh = await h.settled('api-no-rv-msg');
      const { resourceVersion: _rv, ...meta } = fresh.metadata;
      const { body } = await apiError(replace('api-no-rv-msg', { ...fresh, metadata: meta }));
      expect(body.message).toBe(
        'services.serving.knative.dev "api-no-rv-msg" is invalid: metadata.resourceVersion: Invalid value: 0x0: ' +
          'must be specified for an update',
      );
      expect(body.details).toMatchObject({ name: 'api-no-rv-msg', group: GROUP, kind: 'services' });
    });

    it('applies a merge patch, replacing whole arrays', async () => {
      await h.create(
        service('api-merge', {
          traffic: [
            { latestRevision: true, percent: 50, tag: 'a' },
            { latestRevision: true, percent: 50, tag: 'b' },
          ],
        }),
      );
      const patched = await h.mergePatch('api-merge', {
        metadata: { labels: { team: 'x' } },
        spec: { traffic: [{ latestRevision: true, percent: 100, tag: 'c' }] },
      });
      expect(patched.metadata.labels).toEqual({ team: 'x' });
      expect(patched.spec.traffic).toEqual([{ latestRevision: true, percent: 100, tag: 'c' }]);
      expect(patched.metadata.generation).toBe(2);
      expect((await h.get('services', 'api-merge')).spec.traffic).toEqual(patched.spec.traffic);
    });

    it('applies a JSON patch (client-node default), and answers a failed test op with 422', async () => {
      await h.create(service('api-json'));
      const patched = await jsonPatch('api-json', [
        { op: 'add', path: '/metadata/labels', value: { team: 'x' } },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'ghcr.io/example/hello:v2' },
      ]);
      expect(patched.metadata.labels).toEqual({ team: 'x' });
      expect(patched.spec.template.spec.containers[0].image).toBe('ghcr.io/example/hello:v2');
      expect(patched.metadata.generation).toBe(2);
      const tested = await jsonPatch('api-json', [
        { op: 'test', path: '/metadata/labels/team', value: 'x' },
        { op: 'replace', path: '/metadata/labels/team', value: 'y' },
      ]);
      expect(tested.metadata.labels).toEqual({ team: 'y' });
      const failed = await apiError(
        jsonPatch('api-json', [
          { op: 'test', path: '/metadata/labels/team', value: 'x' },
          { op: 'replace', path: '/metadata/labels/team', value: 'z' },
        ]),
      );
      expect(failed.code).toBe(422);
      expect((await h.get('services', 'api-json')).metadata.labels).toEqual({ team: 'y' });
    });

    it('refuses a strategic merge patch with 415', async () => {
      await h.create(service('api-smp'));
      const { code, body } = await apiError(
        h.api.patchNamespacedCustomObject(
          { ...SVC, name: 'api-smp', body: { metadata: { labels: { a: 'b' } } } },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(code).toBe(415);
      expect(body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'the body of the request was in an unknown format - accepted media types include: ' +
          'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        reason: 'UnsupportedMediaType',
        code: 415,
      });
      expect((await h.get('services', 'api-smp')).metadata.labels).toBeUndefined();
    });
  });

  describe('status subresource and generation', () => {
    it('ignores .status in writes to the main resource', async () => {
      await h.create(service('api-ignore-status'));
      const settled = await h.settled('api-ignore-status');
      const merged = await h.mergePatch('api-ignore-status', {
        metadata: { labels: { a: '1' } },
        status: { url: 'http://forged.example.com', observedGeneration: 9 },
      });
      expect(merged.metadata.labels).toEqual({ a: '1' });
      expect(merged.status).toEqual(settled.status);

      const put = structuredClone(merged);
      put.status.url = 'http://forged.example.com';
      put.status.conditions = [];
      put.metadata.labels = { a: '2' };
      const replaced = await replace('api-ignore-status', put);
      expect(replaced.metadata.labels).toEqual({ a: '2' });
      expect(replaced.status).toEqual(settled.status);

      const patched = await jsonPatch('api-ignore-status', [
        { op: 'replace', path: '/status/url', value: 'http://forged.example.com' },
      ]);
      expect(patched.status).toEqual(settled.status);
      expect((await h.get('services', 'api-ignore-status')).status).toEqual(settled.status);
    });

    it('changes only status through /status: update, merge patch and JSON patch', async () => {
      await h.create(service('api-status'));
      const settled = await h.settled('api-status');

      const body = structuredClone(settled);
      body.status.url = 'http://replaced.example.com';
      body.spec.template.spec.containers[0].image = 'ghcr.io/example/hello:v9';
      body.metadata.labels = { sneaky: 'yes' };
      const replaced = (await h.api.replaceNamespacedCustomObjectStatus({
        ...SVC,
        name: 'api-status',
        body,
      })) as KObject;
      expect(replaced.status.url).toBe('http://replaced.example.com');
      expect(replaced.spec).toEqual(settled.spec);
      expect(replaced.metadata.labels).toBeUndefined();
      expect(replaced.metadata.generation).toBe(settled.metadata.generation);
      expect(replaced.metadata.resourceVersion).not.toBe(settled.metadata.resourceVersion);

      const merged = (await h.api.patchNamespacedCustomObjectStatus(
        {
          ...SVC,
          name: 'api-status',
          body: {
            status: { url: 'http://merged.example.com' },
            spec: { traffic: [] },
            metadata: { labels: { a: 'b' } },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as KObject;
      expect(merged.status.url).toBe('http://merged.example.com');
      expect(merged.status.conditions).toEqual(settled.status.conditions);
      expect(merged.spec).toEqual(settled.spec);
      expect(merged.metadata.labels).toBeUndefined();

      const patched = (await h.api.patchNamespacedCustomObjectStatus({
        ...SVC,
        name: 'api-status',
        body: [
          { op: 'replace', path: '/status/url', value: 'http://json.example.com' },
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: 'ghcr.io/example/hello:v9',
          },
        ],
      })) as KObject;
      expect(patched.status.url).toBe('http://json.example.com');
      expect(patched.spec).toEqual(settled.spec);

      const after = await h.get('services', 'api-status');
      expect(after.status.url).toBe('http://json.example.com');
      expect(after.spec).toEqual(settled.spec);
      expect(after.metadata.generation).toBe(settled.metadata.generation);
    });

    it('grows metadata.generation on spec changes only', async () => {
      const created = await h.create(service('api-gen'));
      expect(created.metadata.generation).toBe(1);
      await h.settled('api-gen');
      const labelled = await h.mergePatch('api-gen', {
        metadata: { labels: { x: 'y' }, annotations: { note: 'n' } },
      });
      expect(labelled.metadata.generation).toBe(1);
      expect(labelled.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);

      const changed = await h.mergePatch('api-gen', {
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/hello:v2' }] } } },
      });
      expect(changed.metadata.generation).toBe(2);
      const settled = await h.settled('api-gen');
      expect(settled.status.observedGeneration).toBe(2);

      const statusWrite = (await h.api.patchNamespacedCustomObjectStatus(
        { ...SVC, name: 'api-gen', body: { status: { url: 'http://x.example.com' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as KObject;
      expect(statusWrite.metadata.generation).toBe(2);

      const replaced = await replace('api-gen', {
        ...statusWrite,
        spec: { ...statusWrite.spec, traffic: [{ latestRevision: true, percent: 100, tag: 'current' }] },
      });
      expect(replaced.metadata.generation).toBe(3);
    });

    it('writes nothing for a patch that changes nothing: same resourceVersion and generation', async () => {
      await h.create(service('api-noop'));
      const settled = await h.settled('api-noop');
      const same = await h.mergePatch('api-noop', {});
      expect(same.metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
      expect(same.metadata.generation).toBe(settled.metadata.generation);
      const sameTraffic = await h.mergePatch('api-noop', { spec: { traffic: settled.spec.traffic } });
      expect(sameTraffic.metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
    });
  });

  describe('read-only kinds, revisions and garbage collection', () => {
    it('refuses writes to configurations and routes with 405', async () => {
      await h.create(service('api-ro'));
      await h.settled('api-ro');
      for (const plural of ['configurations', 'routes']) {
        const current = await h.get(plural, 'api-ro');
        const attempts: (() => Promise<unknown>)[] = [
          () =>
            h.api.createNamespacedCustomObject({
              ...G,
              plural,
              body: { ...current, metadata: { name: 'api-ro-other' } },
            }),
          () => h.api.replaceNamespacedCustomObject({ ...G, plural, name: 'api-ro', body: current }),
          () => h.mergePatch('api-ro', { metadata: { labels: { a: 'b' } } }, plural),
          () => jsonPatch('api-ro', [{ op: 'add', path: '/metadata/labels/a', value: 'b' }], plural),
          () => remove(plural, 'api-ro'),
        ];
        for (const attempt of attempts) {
          const { code, body } = await apiError(attempt());
          expect(code).toBe(405);
          expect(body).toMatchObject({
            kind: 'Status',
            status: 'Failure',
            reason: 'MethodNotAllowed',
            code: 405,
          });
        }
        const after = await h.get(plural, 'api-ro');
        expect(after.metadata.resourceVersion).toBe(current.metadata.resourceVersion);
        expect(after.metadata.labels?.a).toBeUndefined();
      }
    });

    it('refuses revision writes other than delete, and deletes a revision', async () => {
      await h.create(service('api-rev'));
      await h.settled('api-rev');
      await h.mergePatch('api-rev', {
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/hello:v2' }] } } },
      });
      const svc = await h.waitForService(
        'api-rev',
        (s) =>
          s.status?.observedGeneration === 2 &&
          s.status.conditions?.some((c: KObject) => c.type === 'Ready' && c.status === 'True') &&
          s.status.traffic?.[0]?.revisionName === 'api-rev-00002',
      );
      expect(svc.status.latestReadyRevisionName).toBe('api-rev-00002');
      expect(svc.status.traffic.map((t: KObject) => t.revisionName)).toEqual(['api-rev-00002']);

      const patch = await apiError(
        h.mergePatch('api-rev-00001', { metadata: { labels: { a: 'b' } } }, 'revisions'),
      );
      expect(patch.code).toBe(405);

      const deleted = await remove('revisions', 'api-rev-00001');
      expect(deleted.metadata.name).toBe('api-rev-00001');
      expect((await apiError(h.get('revisions', 'api-rev-00001'))).code).toBe(404);
      expect(await names('revisions', { labelSelector: 'serving.knative.dev/service=api-rev' })).toEqual([
        'api-rev-00002',
      ]);
    });

    it('deletes the configuration, route and revisions of a deleted Service', async () => {
      await h.create(service('api-gc'));
      await h.settled('api-gc');
      await h.mergePatch('api-gc', {
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/hello:v2' }] } } },
      });
      await h.waitFor(
        () => names('revisions', { labelSelector: 'serving.knative.dev/service=api-gc' }),
        (n) => n.length === 2,
      );
      const deleted = await remove('services', 'api-gc');
      expect(deleted.metadata.name).toBe('api-gc');
      expect((await apiError(h.get('services', 'api-gc'))).code).toBe(404);
      const gone = async (plural: string, name: string) => (await apiError(h.get(plural, name))).code === 404;
      await h.waitFor(
        async () =>
          (await gone('configurations', 'api-gc')) &&
          (await gone('routes', 'api-gc')) &&
          (await names('revisions', { labelSelector: 'serving.knative.dev/service=api-gc' })).length === 0,
        (done) => done,
      );
      expect((await apiError(h.get('revisions', 'api-gc-00001'))).code).toBe(404);
      expect((await apiError(h.get('revisions', 'api-gc-00002'))).code).toBe(404);
    });
  });

  describe('watch', () => {
    type Event = { type: string; object: KObject };
    const open: AbortController[] = [];
    afterEach(() => {
      for (const c of open.splice(0)) c.abort();
    });

    /** Starts a watch of services; events collect in `events`, `closed()` tells whether the stream ended. */
    async function watch(query: Record<string, string | boolean | undefined>) {
      const events: Event[] = [];
      let ended = false;
      const controller = await new Watch(h.kc).watch(
        SERVICES_PATH,
        query,
        (type, object) => events.push({ type, object }),
        () => {
          ended = true;
        },
      );
      open.push(controller);
      return { events, types: () => events.map((e) => e.type), closed: () => ended, controller };
    }
    const currentRV = async () => (await list('services')).metadata.resourceVersion as string;

    it('streams ADDED, MODIFIED and DELETED in order, with growing resourceVersions', async () => {
      const w = await watch({
        resourceVersion: await currentRV(),
        fieldSelector: 'metadata.name=api-w-order',
      });
      await h.create(service('api-w-order'));
      await h.settled('api-w-order');
      await h.mergePatch('api-w-order', { metadata: { labels: { step: 'two' } } });
      await remove('services', 'api-w-order');
      await h.waitFor(w.types, (t) => t.includes('DELETED'));

      const types = w.types();
      expect(types[0]).toBe('ADDED');
      expect(types[types.length - 1]).toBe('DELETED');
      expect(types.slice(1, -1).length).toBeGreaterThan(0);
      expect(types.slice(1, -1).every((t) => t === 'MODIFIED')).toBe(true);
      expect(w.events.every((e) => e.object.metadata.name === 'api-w-order')).toBe(true);
      expect(w.events.every((e) => e.object.kind === 'Service')).toBe(true);
      const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
      for (let i = 1; i < rvs.length; i++) expect(rvs[i]).toBeGreaterThan(rvs[i - 1]);
      const labelled = w.events.find(
        (e) => e.type === 'MODIFIED' && e.object.metadata.labels?.step === 'two',
      );
      expect(labelled).toBeDefined();
    });

    it('resumes from a resourceVersion, replaying only the events after it', async () => {
      const from = await currentRV();
      const first = await watch({ resourceVersion: from, fieldSelector: 'metadata.name=api-w-resume' });
      await h.create(service('api-w-resume'));
      await h.settled('api-w-resume');
      await h.mergePatch('api-w-resume', { metadata: { labels: { a: '1' } } });
      await h.mergePatch('api-w-resume', { metadata: { labels: { a: '2' } } });
      await h.waitFor(
        () => first.events,
        (e) => e.some((x) => x.object.metadata.labels?.a === '2'),
      );
      first.controller.abort();
      const all = first.events.map((e) => [e.type, e.object.metadata.resourceVersion]);
      expect(all[0][0]).toBe('ADDED');

      // Resume after the ADDED event: everything but it, in the same order, and nothing earlier.
      const cut = 1;
      const resumed = await watch({
        resourceVersion: String(all[cut - 1][1]),
        fieldSelector: 'metadata.name=api-w-resume',
      });
      await h.waitFor(
        () => resumed.events.length,
        (n) => n >= all.length - cut,
      );
      expect(resumed.events.map((e) => [e.type, e.object.metadata.resourceVersion])).toEqual(all.slice(cut));

      // Resume from the last event: nothing to replay, then the next change arrives live.
      const last = await watch({
        resourceVersion: String(all[all.length - 1][1]),
        fieldSelector: 'metadata.name=api-w-resume',
      });
      await h.mergePatch('api-w-resume', { metadata: { labels: { a: '3' } } });
      await h.waitFor(
        () => last.events.length,
        (n) => n > 0,
      );
      expect(last.events[0].type).toBe('MODIFIED');
      expect(last.events[0].object.metadata.labels).toEqual({ a: '3' });
    });

    it('answers a resourceVersion older than the compacted history with an ERROR event: 410 Expired', async () => {
      await h.create(service('api-w-old'));
      const old = (await h.get('services', 'api-w-old')).metadata.resourceVersion;
      await h.mergePatch('api-w-old', { metadata: { labels: { a: 'b' } } });
      const compact = await fetch(`${h.emulator.apiUrl}/emulator/compact`, { method: 'POST' });
      expect(compact.status).toBe(200);
      const compactedAt = ((await compact.json()) as KObject).resourceVersion as string;

      const w = await watch({ resourceVersion: old });
      await h.waitFor(
        () => w.events.length,
        (n) => n > 0,
      );
      expect(w.events).toHaveLength(1);
      expect(w.events[0].type).toBe('ERROR');
      expect(w.events[0].object).toMatchObject({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
      });
      expect(w.events[0].object.message).toMatch(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
      await h.waitFor(w.closed, (c) => c);

      // From the compaction point on, a watch works again.
      const fresh = await watch({ resourceVersion: compactedAt, fieldSelector: 'metadata.name=api-w-old' });
      await h.mergePatch('api-w-old', { metadata: { labels: { a: 'c' } } });
      await h.waitFor(
        () => fresh.events.length,
        (n) => n > 0,
      );
      expect(fresh.events[0].type).toBe('MODIFIED');
      expect(fresh.closed()).toBe(false);
    });

    it('sends BOOKMARK events only when allowed, carrying a current resourceVersion', async () => {
      await h.create(service('api-w-bookmark'));
      await h.settled('api-w-bookmark');
      const from = await currentRV();
      const quiet = await watch({ resourceVersion: from, fieldSelector: 'metadata.name=api-w-bookmark' });
      const w = await watch({
        resourceVersion: from,
        allowWatchBookmarks: true,
        fieldSelector: 'metadata.name=api-w-bookmark',
      });
      const changed = await h.mergePatch('api-w-bookmark', { metadata: { labels: { a: 'b' } } });
      const bookmarks = () => w.events.filter((e) => e.type === 'BOOKMARK');
      await h.waitFor(
        () => bookmarks().length,
        (n) => n >= 3,
      );
      const after = bookmarks().at(-1)!;
      expect(after.object).toMatchObject({ kind: 'Service', apiVersion: `${GROUP}/${VERSION}` });
      expect(Number(after.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(
        Number(changed.metadata.resourceVersion),
      );
      expect(w.types()).toContain('MODIFIED');
      // Three bookmark intervals have passed: the watch that did not ask for bookmarks got none.
      expect(quiet.types()).toContain('MODIFIED');
      expect(quiet.types()).not.toContain('BOOKMARK');
    });

    it('with a label selector, sends DELETED when an object stops matching and ADDED when it matches again', async () => {
      await h.create(labelled('api-w-label', { watch: 'me' }));
      await h.create(labelled('api-w-label-other', { watch: 'not-me' }));
      // Settled, so no controller writes interleave with the label changes below.
      await Promise.all([h.settled('api-w-label'), h.settled('api-w-label-other')]);
      const w = await watch({ labelSelector: 'watch=me' });
      // No resourceVersion: the current matching objects arrive as ADDED first.
      await h.waitFor(w.types, (t) => t.includes('ADDED'));
      expect(w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name)).toEqual([
        'api-w-label',
      ]);

      await h.mergePatch('api-w-label', { metadata: { labels: { watch: 'no-more' } } });
      await h.waitFor(w.types, (t) => t.includes('DELETED'));
      const deleted = w.events.find((e) => e.type === 'DELETED')!;
      expect(deleted.object.metadata.name).toBe('api-w-label');
      expect(deleted.object.metadata.labels).toEqual({ watch: 'no-more' });
      // It only stopped matching: it still exists.
      expect((await h.get('services', 'api-w-label')).metadata.labels).toEqual({ watch: 'no-more' });

      // Changes while it does not match are not sent.
      const before = w.events.length;
      await h.mergePatch('api-w-label', { metadata: { annotations: { note: 'unseen' } } });
      await h.mergePatch('api-w-label-other', { metadata: { labels: { watch: 'me' } } });
      await h.waitFor(
        () => w.events.slice(before),
        (e) => e.some((x) => x.object.metadata.name === 'api-w-label-other'),
      );
      expect(w.events.slice(before).map((e) => [e.type, e.object.metadata.name])).toEqual([
        ['ADDED', 'api-w-label-other'],
      ]);

      const again = w.events.length;
      await h.mergePatch('api-w-label', { metadata: { labels: { watch: 'me' } } });
      await h.waitFor(
        () => w.events.length,
        (n) => n > again,
      );
      expect(w.events[again].type).toBe('ADDED');
      expect(w.events[again].object.metadata.name).toBe('api-w-label');
    });
  });
});
