// Knative's webhook through the real API: every validation message of the facts file, answered as a denied
// admission (400) with Knative's wording, paths and order; defaulting; and no write when a request is denied.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const DENIED =
  'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ';

describe('Knative validation webhook', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const denied = async (body: KObject) => {
    const { code, body: status } = await apiError(h.create(body));
    expect(code).toBe(400);
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400 });
    expect(status.message.startsWith(DENIED)).toBe(true);
    return status.message.slice(DENIED.length) as string;
  };

  it.each([
    [
      'percent over 100',
      [{ latestRevision: true, percent: 101 }],
      'Traffic targets sum to 101, want 100: spec.traffic\nexpected 0 <= 101 <= 100: spec.traffic[0].percent',
    ],
    [
      'percent below 0',
      [
        { latestRevision: true, percent: -1 },
        { latestRevision: true, percent: 101, tag: 'a' },
      ],
      'expected 0 <= -1 <= 100: spec.traffic[0].percent\nexpected 0 <= 101 <= 100: spec.traffic[1].percent',
    ],
    [
      'a sum that is not 100',
      [{ latestRevision: true, percent: 90 }],
      'Traffic targets sum to 90, want 100: spec.traffic',
    ],
    [
      'latestRevision true with a revisionName',
      [{ latestRevision: true, revisionName: 'bar', percent: 100 }],
      'may not set revisionName "bar" when latestRevision is true: spec.traffic[0].latestRevision',
    ],
    [
      'latestRevision false without a revisionName',
      [{ latestRevision: false, percent: 100 }],
      'may not set revisionName "" when latestRevision is false: spec.traffic[0].latestRevision',
    ],
    [
      'a duplicate tag',
      [
        { latestRevision: true, percent: 50, tag: 'foo' },
        { latestRevision: true, percent: 50, tag: 'foo' },
      ],
      'Multiple definitions for "foo": spec.traffic[0].tag, spec.traffic[1].tag',
    ],
    [
      'a url on a target',
      [{ latestRevision: true, percent: 100, tag: 'a', url: 'http://a.example.com' }],
      'must not set the field(s): spec.traffic[0].url',
    ],
    [
      'a configurationName on a target',
      [{ configurationName: 'other', percent: 100 }],
      'must not set the field(s): spec.traffic[0].configurationName',
    ],
  ])('rejects %s', async (_what, traffic, message) => {
    expect(await denied(service('v-traffic', { traffic }))).toBe(message);
    expect((await apiError(h.get('services', 'v-traffic'))).code).toBe(404);
  });

  it('rejects a tag that is not a DNS-1035 label, with the apimachinery message', async () => {
    const msg = await denied(
      service('v-tag', { traffic: [{ latestRevision: true, percent: 100, tag: 'Bad_Tag' }] }),
    );
    expect(msg).toBe(
      'invalid value: not a DNS 1035 label: [a DNS-1035 label must consist of lower case alphanumeric characters ' +
        "or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or " +
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]: spec.traffic.tag[0]",
    );
  });

  it('rejects a BYO revision name without the service prefix', async () => {
    expect(await denied(service('svc', { revisionName: 'foo' }))).toBe(
      'invalid value: "foo" must have prefix "svc-": spec.template.metadata.name',
    );
  });

  it('rejects a Service without containers, or a container without an image', async () => {
    const none = service('v-none');
    none.spec.template.spec.containers = [];
    expect(await denied(none)).toBe('missing field(s): spec.template.spec.containers');
    const noImage = service('v-noimage');
    delete noImage.spec.template.spec.containers[0].image;
    expect(await denied(noImage)).toBe('missing field(s): spec.template.spec.containers[0].image');
  });

  it("reports several errors at once, merged and sorted by message as Knative's FieldError does", async () => {
    const msg = await denied(
      service('v-many', {
        revisionName: 'x',
        traffic: [
          { latestRevision: true, percent: 101, tag: 'foo' },
          { latestRevision: false, percent: 5, tag: 'foo' },
        ],
      }),
    );
    expect(msg.split('\n')).toEqual([
      'Multiple definitions for "foo": spec.traffic[0].tag, spec.traffic[1].tag',
      'Traffic targets sum to 106, want 100: spec.traffic',
      'expected 0 <= 101 <= 100: spec.traffic[0].percent',
      'invalid value: "x" must have prefix "v-many-": spec.template.metadata.name',
      'may not set revisionName "" when latestRevision is false: spec.traffic[1].latestRevision',
    ]);
  });

  it('rejects a changed template under the same revision name, with a diff', async () => {
    await h.create(service('v-name', { revisionName: 'v-name-one', image: 'ghcr.io/example/app:1' }));
    const before = await h.get('services', 'v-name');
    const { code, body } = await apiError(
      h.mergePatch('v-name', {
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/app:2' }] } } },
      }),
    );
    expect(code).toBe(400);
    const msg: string = body.message.slice(DENIED.length);
    expect(
      msg.startsWith(
        'Saw the following changes without a name change (-old +new): spec.template.metadata.name\n',
      ),
    ).toBe(true);
    expect(msg).toContain('ghcr.io/example/app:1');
    expect(msg).toContain('ghcr.io/example/app:2');
    const after = await h.get('services', 'v-name');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec).toEqual(before.spec);
  });

  it('keeps the creator annotation immutable, also against a PUT of a Service rebuilt from scratch', async () => {
    const created = await h.create(service('v-creator'));
    expect(created.metadata.annotations['serving.knative.dev/creator']).toBe('emulator-admin');
    const changed = await apiError(
      h.mergePatch('v-creator', { metadata: { annotations: { 'serving.knative.dev/creator': 'mallory' } } }),
    );
    expect(changed.code).toBe(400);
    expect(changed.body.message).toBe(
      `${DENIED}annotation value is immutable: metadata.annotations.serving.knative.dev/creator`,
    );
    const rebuilt = service('v-creator', { image: 'ghcr.io/example/hello:v2' });
    // Read once the Service has settled, so no controller write makes this resourceVersion stale (409).
    rebuilt.metadata.resourceVersion = (await h.settled('v-creator')).metadata.resourceVersion;
    const put = await apiError(
      h.api.replaceNamespacedCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        namespace: 'default',
        plural: 'services',
        name: 'v-creator',
        body: rebuilt,
      }),
    );
    expect(put.code).toBe(400);
    expect(put.body.message).toBe(
      `${DENIED}annotation value is immutable: metadata.annotations.serving.knative.dev/creator`,
    );
    const after = await h.get('services', 'v-creator');
    expect(after.metadata.generation).toBe(1);
    expect(after.spec).toEqual(created.spec);
    expect(after.metadata.annotations).toEqual(created.metadata.annotations);
  });

  it('rejects a name that is not a DNS-1035 label', async () => {
    const msg = await denied(service('1abc'));
    expect(msg).toMatch(/^not a DNS 1035 label: \[a DNS-1035 label must .*\]: metadata\.name$/);
  });
});

describe('Knative defaulting', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('defaults traffic, container and template fields, and stores them defaulted', async () => {
    const created = await h.create(service('d-plain'));
    expect(created.spec.traffic).toEqual([{ percent: 100, latestRevision: true }]);
    const c = created.spec.template.spec.containers[0];
    expect(c.name).toBe('user-container');
    expect(c.readinessProbe).toEqual({ tcpSocket: { port: 0 }, successThreshold: 1 });
    expect(created.spec.template.spec.timeoutSeconds).toBe(300);
    expect(created.spec.template.spec.containerConcurrency).toBe(0);
    expect((await h.get('services', 'd-plain')).spec).toEqual(created.spec);
  });

  it('fills latestRevision from revisionName and percent 0 when unset', async () => {
    await h.create(service('d-traffic', { revisionName: 'd-traffic-a' }));
    await h.settled('d-traffic');
    const patched = await h.mergePatch('d-traffic', {
      spec: { traffic: [{ revisionName: 'd-traffic-a', percent: 100 }, { tag: 'next' }] },
    });
    expect(patched.spec.traffic).toEqual([
      { revisionName: 'd-traffic-a', percent: 100, latestRevision: false },
      { tag: 'next', latestRevision: true, percent: 0 },
    ]);
  });

  it('sets lastModifier only when an update changes the spec', async () => {
    const created = await h.create(service('d-modifier'));
    const a = created.metadata.annotations;
    expect(a['serving.knative.dev/lastModifier']).toBe('emulator-admin');
    const labelled = await h.mergePatch('d-modifier', { metadata: { labels: { team: 'a' } } });
    expect(labelled.metadata.annotations).toEqual(a);
    expect(labelled.metadata.generation).toBe(1);
    const forged = await apiError(
      h.mergePatch('d-modifier', {
        metadata: { annotations: { 'serving.knative.dev/lastModifier': 'mallory' } },
      }),
    );
    expect(forged.body.message).toBe(
      `${DENIED}invalid value: mallory: metadata.annotations.serving.knative.dev/lastModifier`,
    );
  });
});
