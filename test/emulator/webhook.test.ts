// Knative Serving's admission webhooks through the real API (@kubernetes/client-node over HTTP): every validation
// message of the facts file with its exact wording, paths and order, the defaulting of Services, the creator and
// lastModifier annotations, and that a denied write stores nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION, apiError, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const USER = 'alice@example.com';
const CREATOR = 'serving.knative.dev/creator';
const LAST_MODIFIER = 'serving.knative.dev/lastModifier';
const DENIED =
  'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ';
const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic " +
  "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for " +
  "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

const G = { group: GROUP, version: VERSION, namespace: 'default', plural: 'services' };

describe('Knative webhook', () => {
  let h: Harness;
  beforeAll(async () => {
    // A user other than the default, so the annotations are shown to carry the requester's name.
    h = await startHarness({ username: USER });
  });
  afterAll(() => h.close());

  /** The Status of a call the validation webhook must deny, checked whole; returns the errors after the prefix. */
  const denied = async (call: Promise<unknown>): Promise<string> => {
    const { code, body } = await apiError(call);
    expect(code).toBe(400);
    expect(body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: expect.any(String),
      reason: 'BadRequest',
      code: 400,
    });
    expect(body.message.startsWith(DENIED)).toBe(true);
    return (body.message as string).slice(DENIED.length);
  };

  const replace = (name: string, body: KObject) =>
    h.api.replaceNamespacedCustomObject({ ...G, name, body }) as Promise<KObject>;
  const jsonPatch = (name: string, ops: KObject[]) =>
    h.api.patchNamespacedCustomObject({ ...G, name, body: ops }) as Promise<KObject>;
  const notFound = async (name: string) => (await apiError(h.get('services', name))).code;
  /**
   * A manifest whose spec, once defaulted on update, equals what its create stored: enableServiceLinks is
   * defaulted on create only (revision_defaults.go applyDefault, apis.IsInCreate), so a rebuilt manifest carries it.
   */
  const sameSpec = (svc: KObject) => {
    svc.spec.template.spec.enableServiceLinks = false;
    return svc;
  };

  describe('validation of traffic', () => {
    it.each<[string, string, KObject[], string]>([
      [
        'a percent above 100',
        'wh-pct-high',
        [{ latestRevision: true, percent: 101 }],
        'Traffic targets sum to 101, want 100: spec.traffic\nexpected 0 <= 101 <= 100: spec.traffic[0].percent',
      ],
      [
        'percents out of range that still sum to 100',
        'wh-pct-range',
        [
          { latestRevision: true, percent: 101 },
          { latestRevision: true, percent: -1, tag: 'low' },
        ],
        'expected 0 <= -1 <= 100: spec.traffic[1].percent\nexpected 0 <= 101 <= 100: spec.traffic[0].percent',
      ],
      [
        'percents that sum to 90',
        'wh-sum-90',
        [{ latestRevision: true, percent: 90 }],
        'Traffic targets sum to 90, want 100: spec.traffic',
      ],
      [
        'an unset percent, which counts 0',
        'wh-sum-unset',
        [{ latestRevision: true, percent: 60 }, { tag: 'zero' }],
        'Traffic targets sum to 60, want 100: spec.traffic',
      ],
      [
        'latestRevision true with a revisionName',
        'wh-lr-true',
        [{ latestRevision: true, revisionName: 'bar', percent: 100 }],
        'may not set revisionName "bar" when latestRevision is true: spec.traffic[0].latestRevision',
      ],
      [
        'latestRevision false without a revisionName',
        'wh-lr-false',
        [{ latestRevision: false, percent: 100 }],
        'may not set revisionName "" when latestRevision is false: spec.traffic[0].latestRevision',
      ],
      [
        'a tag that is not a DNS-1035 label',
        'wh-tag-case',
        [
          { latestRevision: true, percent: 100 },
          { latestRevision: true, percent: 0, tag: 'Canary' },
        ],
        `invalid value: not a DNS 1035 label: [${DNS1035}]: spec.traffic.tag[1]`,
      ],
      [
        'a tag longer than 63 characters',
        'wh-tag-long',
        [{ latestRevision: true, percent: 100, tag: 'a'.repeat(64) }],
        'invalid value: not a DNS 1035 label: [must be no more than 63 characters]: spec.traffic.tag[0]',
      ],
      [
        'a duplicate tag',
        'wh-tag-dup',
        [
          { latestRevision: true, percent: 50, tag: 'foo' },
          { latestRevision: true, percent: 50, tag: 'foo' },
        ],
        'Multiple definitions for "foo": spec.traffic[0].tag, spec.traffic[1].tag',
      ],
      [
        'a tag used three times, merged into one error',
        'wh-tag-three',
        [
          { latestRevision: true, percent: 100, tag: 'foo' },
          { latestRevision: true, percent: 0, tag: 'foo' },
          { latestRevision: true, percent: 0, tag: 'foo' },
        ],
        'Multiple definitions for "foo": spec.traffic[0].tag, spec.traffic[1].tag, spec.traffic[2].tag',
      ],
      [
        'a url on a tagged target',
        'wh-url-tagged',
        [{ latestRevision: true, percent: 100, tag: 'a', url: 'http://a-svc.default.example.com' }],
        'must not set the field(s): spec.traffic[0].url',
      ],
      [
        'a url on an untagged target (reported once)',
        'wh-url-untagged',
        [{ latestRevision: true, percent: 100, url: 'http://svc.default.example.com' }],
        'must not set the field(s): spec.traffic[0].url',
      ],
      [
        'a configurationName on a target',
        'wh-cfg-name',
        [{ configurationName: 'other', percent: 100 }],
        'must not set the field(s): spec.traffic[0].configurationName',
      ],
      [
        'a configurationName and a url, merged into one error',
        'wh-cfg-url',
        [
          { latestRevision: true, percent: 100 },
          { configurationName: 'other', percent: 0, tag: 'x', url: 'http://x-svc.default.example.com' },
        ],
        'must not set the field(s): spec.traffic[1].configurationName, spec.traffic[1].url',
      ],
    ])('rejects %s', async (_what, name, traffic, errors) => {
      expect(await denied(h.create(service(name, { traffic })))).toBe(errors);
      expect(await notFound(name)).toBe(404);
    });

    it('accepts several untagged targets and duplicate revisionName targets', async () => {
      const untagged = await h.create(
        service('wh-untagged', {
          traffic: [
            { latestRevision: true, percent: 40 },
            { latestRevision: true, percent: 60 },
          ],
        }),
      );
      expect(untagged.spec.traffic).toEqual([
        { latestRevision: true, percent: 40 },
        { latestRevision: true, percent: 60 },
      ]);
      const pinned = await h.create(
        service('wh-dup-rev', {
          revisionName: 'wh-dup-rev-one',
          traffic: [
            { revisionName: 'wh-dup-rev-one', percent: 30 },
            { revisionName: 'wh-dup-rev-one', percent: 70 },
          ],
        }),
      );
      expect(pinned.spec.traffic).toEqual([
        { revisionName: 'wh-dup-rev-one', percent: 30, latestRevision: false },
        { revisionName: 'wh-dup-rev-one', percent: 70, latestRevision: false },
      ]);
    });

    it('accepts a 63-character tag', async () => {
      const tag = `t${'a'.repeat(62)}`;
      const created = await h.create(
        service('wh-tag-63', { traffic: [{ latestRevision: true, percent: 100, tag }] }),
      );
      expect(created.spec.traffic[0].tag).toBe(tag);
    });
  });

  describe('validation of metadata', () => {
    it('rejects a Service name that is not a DNS-1035 label', async () => {
      expect(await denied(h.create(service('1abc')))).toBe(
        `not a DNS 1035 label: [${DNS1035}]: metadata.name`,
      );
      expect(await notFound('1abc')).toBe(404);
    });
  });

  describe('validation of the template', () => {
    it('rejects a BYO revision name without the service prefix', async () => {
      expect(await denied(h.create(service('svc', { revisionName: 'foo' })))).toBe(
        'invalid value: "foo" must have prefix "svc-": spec.template.metadata.name',
      );
      expect(await notFound('svc')).toBe(404);
    });

    it('rejects a BYO revision name that is not a DNS-1035 label', async () => {
      expect(await denied(h.create(service('wh-byo', { revisionName: 'wh-byo-V1' })))).toBe(
        `invalid value: not a DNS 1035 label: [${DNS1035}]: spec.template.metadata.name`,
      );
    });

    it('accepts a BYO revision name with the service prefix', async () => {
      const created = await h.create(service('wh-byo-ok', { revisionName: 'wh-byo-ok-first' }));
      expect(created.spec.template.metadata.name).toBe('wh-byo-ok-first');
    });

    it('rejects a template without containers', async () => {
      const empty = service('wh-no-containers');
      empty.spec.template.spec.containers = [];
      expect(await denied(h.create(empty))).toBe('missing field(s): spec.template.spec.containers');
      const absent = service('wh-no-containers');
      delete absent.spec.template.spec.containers;
      expect(await denied(h.create(absent))).toBe('missing field(s): spec.template.spec.containers');
      expect(await notFound('wh-no-containers')).toBe(404);
    });

    it('rejects a container without an image', async () => {
      const noImage = service('wh-no-image');
      delete noImage.spec.template.spec.containers[0].image;
      expect(await denied(h.create(noImage))).toBe(
        'missing field(s): spec.template.spec.containers[0].image',
      );
      expect(await notFound('wh-no-image')).toBe(404);
    });

    it('bounds timeoutSeconds by 600', async () => {
      const tooLong = service('wh-timeout');
      tooLong.spec.template.spec.timeoutSeconds = 601;
      expect(await denied(h.create(tooLong))).toBe(
        'expected 0 <= 601 <= 600: spec.template.spec.timeoutSeconds',
      );
      const max = service('wh-timeout');
      max.spec.template.spec.timeoutSeconds = 600;
      expect((await h.create(max)).spec.template.spec.timeoutSeconds).toBe(600);
    });

    it('reports several errors at once, merged and sorted by message as FieldError does', async () => {
      const svc = service('wh-many', {
        revisionName: 'other-x',
        traffic: [
          { configurationName: 'c', percent: 101, tag: 'dup' },
          { latestRevision: false, percent: 5, tag: 'dup', url: 'http://dup-wh-many.default.example.com' },
        ],
      });
      delete svc.spec.template.spec.containers[0].image;
      expect((await denied(h.create(svc))).split('\n')).toEqual([
        'Multiple definitions for "dup": spec.traffic[0].tag, spec.traffic[1].tag',
        'Traffic targets sum to 106, want 100: spec.traffic',
        'expected 0 <= 101 <= 100: spec.traffic[0].percent',
        'invalid value: "other-x" must have prefix "wh-many-": spec.template.metadata.name',
        'may not set revisionName "" when latestRevision is false: spec.traffic[1].latestRevision',
        'missing field(s): spec.template.spec.containers[0].image',
        'must not set the field(s): spec.traffic[0].configurationName, spec.traffic[1].url',
      ]);
      expect(await notFound('wh-many')).toBe(404);
    });
  });

  describe('validation of updates', () => {
    const NAME_CHANGE =
      'Saw the following changes without a name change (-old +new): spec.template.metadata.name\n';

    it('rejects a template change without a name change, by merge patch and by update, with a diff', async () => {
      await h.create(service('wh-rename', { revisionName: 'wh-rename-one', image: 'ghcr.io/example/app:1' }));
      const before = await h.settled('wh-rename');

      const patched = await denied(
        h.mergePatch('wh-rename', {
          spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/app:2' }] } } },
        }),
      );
      expect(patched.startsWith(NAME_CHANGE)).toBe(true);
      const diff = patched.slice(NAME_CHANGE.length);
      expect(diff).toMatch(/image/i);
      expect(diff).toContain('ghcr.io/example/app:1');
      expect(diff).toContain('ghcr.io/example/app:2');

      const edited = structuredClone(before);
      edited.spec.template.spec.containers[0].env = [{ name: 'MODE', value: 'fast' }];
      const replaced = await denied(replace('wh-rename', edited));
      expect(replaced.startsWith(NAME_CHANGE)).toBe(true);
      expect(replaced.slice(NAME_CHANGE.length)).toMatch(/env/i);
      expect(replaced).toContain('MODE');

      const after = await h.get('services', 'wh-rename');
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect(after.spec).toEqual(before.spec);
    });

    it('accepts a template change with a new name, and a traffic change under the same name', async () => {
      await h.create(service('wh-renamed', { revisionName: 'wh-renamed-one' }));
      await h.settled('wh-renamed');
      const renamed = await h.mergePatch('wh-renamed', {
        spec: {
          template: {
            metadata: { name: 'wh-renamed-two' },
            spec: { containers: [{ image: 'ghcr.io/example/hello:v2' }] },
          },
        },
      });
      expect(renamed.spec.template.metadata.name).toBe('wh-renamed-two');
      expect(renamed.metadata.generation).toBe(2);
      await h.settled('wh-renamed');
      const split = await h.mergePatch('wh-renamed', {
        spec: {
          traffic: [
            { revisionName: 'wh-renamed-one', percent: 50 },
            { revisionName: 'wh-renamed-two', percent: 50 },
          ],
        },
      });
      expect(split.metadata.generation).toBe(3);
    });

    it('keeps the creator annotation immutable', async () => {
      const created = await h.create(service('wh-creator'));
      expect(
        await denied(h.mergePatch('wh-creator', { metadata: { annotations: { [CREATOR]: 'mallory' } } })),
      ).toBe(`annotation value is immutable: metadata.annotations.${CREATOR}`);
      // Removing it is a change too.
      expect(
        await denied(
          jsonPatch('wh-creator', [
            { op: 'remove', path: '/metadata/annotations/serving.knative.dev~1creator' },
          ]),
        ),
      ).toBe(`annotation value is immutable: metadata.annotations.${CREATOR}`);
      expect((await h.get('services', 'wh-creator')).metadata.annotations).toEqual(
        created.metadata.annotations,
      );
    });

    it('rejects a PUT of a Service rebuilt from scratch that changes the spec (no creator annotation)', async () => {
      await h.create(service('wh-rebuilt'));
      const current = await h.settled('wh-rebuilt');
      const rebuilt = service('wh-rebuilt', { image: 'ghcr.io/example/hello:v2' });
      rebuilt.metadata.resourceVersion = current.metadata.resourceVersion;
      expect(await denied(replace('wh-rebuilt', rebuilt))).toBe(
        `annotation value is immutable: metadata.annotations.${CREATOR}`,
      );
      const after = await h.get('services', 'wh-rebuilt');
      expect(after.metadata.resourceVersion).toBe(current.metadata.resourceVersion);
      expect(after.spec).toEqual(current.spec);
    });

    it('rejects a PUT of a Service rebuilt from scratch with the same spec, storing nothing', async () => {
      await h.create(service('wh-rebuilt-same'));
      const current = await h.settled('wh-rebuilt-same');
      const rebuilt = sameSpec(service('wh-rebuilt-same'));
      rebuilt.metadata.resourceVersion = current.metadata.resourceVersion;
      const errors = await denied(replace('wh-rebuilt-same', rebuilt));
      expect(errors).toContain(`metadata.annotations.${CREATOR}`);
      expect(errors).toContain(`metadata.annotations.${LAST_MODIFIER}`);
      const after = await h.get('services', 'wh-rebuilt-same');
      expect(after.metadata.resourceVersion).toBe(current.metadata.resourceVersion);
      expect(after.metadata.annotations).toEqual(current.metadata.annotations);
    });

    it('rejects a changed lastModifier when the spec does not change, storing nothing', async () => {
      const created = await h.create(service('wh-modifier'));
      const errors = await denied(
        h.mergePatch('wh-modifier', { metadata: { annotations: { [LAST_MODIFIER]: 'mallory' } } }),
      );
      expect(errors).toContain(`metadata.annotations.${LAST_MODIFIER}`);
      expect((await h.get('services', 'wh-modifier')).metadata.annotations).toEqual(
        created.metadata.annotations,
      );
    });

    it('words the lastModifier denial as knative.dev/pkg ValidateCreatorAndModifier does', async () => {
      // The creator check is "annotation value is immutable"; the lastModifier check (spec unchanged) is
      // apis.ErrInvalidValue(<new value>, "serving.knative.dev/lastModifier").
      await h.create(service('wh-modifier-msg'));
      const current = await h.settled('wh-modifier-msg');
      expect(
        await denied(
          h.mergePatch('wh-modifier-msg', { metadata: { annotations: { [LAST_MODIFIER]: 'mallory' } } }),
        ),
      ).toBe(`invalid value: mallory: metadata.annotations.${LAST_MODIFIER}`);
      // A Service rebuilt from scratch with the same spec loses both annotations: two errors, sorted.
      const rebuilt = sameSpec(service('wh-modifier-msg'));
      rebuilt.metadata.resourceVersion = current.metadata.resourceVersion;
      expect((await denied(replace('wh-modifier-msg', rebuilt))).split('\n')).toEqual([
        `annotation value is immutable: metadata.annotations.${CREATOR}`,
        `invalid value: : metadata.annotations.${LAST_MODIFIER}`,
      ]);
    });

    it('reports several update errors sorted by message, a diff under its own message', async () => {
      await h.create(
        service('wh-many-upd', { revisionName: 'wh-many-upd-a', image: 'ghcr.io/example/app:1' }),
      );
      await h.settled('wh-many-upd');
      const errors = await denied(
        h.mergePatch('wh-many-upd', {
          metadata: { annotations: { [CREATOR]: 'mallory' } },
          spec: {
            template: { spec: { containers: [{ image: 'ghcr.io/example/app:2' }] } },
            traffic: [{ latestRevision: true, percent: 50 }],
          },
        }),
      );
      expect(errors.startsWith(NAME_CHANGE)).toBe(true);
      const tail =
        '\nTraffic targets sum to 50, want 100: spec.traffic' +
        `\nannotation value is immutable: metadata.annotations.${CREATOR}`;
      expect(errors.endsWith(tail)).toBe(true);
      const diff = errors.slice(NAME_CHANGE.length, errors.length - tail.length);
      expect(diff).toContain('ghcr.io/example/app:1');
      expect(diff).toContain('ghcr.io/example/app:2');
    });
  });

  describe('defaulting', () => {
    it('gives a Service without traffic 100% to the latest revision, and stores it defaulted', async () => {
      const created = await h.create(service('wh-def-none'));
      expect(created.spec.traffic).toEqual([{ percent: 100, latestRevision: true }]);
      expect((await h.get('services', 'wh-def-none')).spec.traffic).toEqual([
        { percent: 100, latestRevision: true },
      ]);
    });

    it('treats an empty traffic list as no traffic (len(traffic) == 0)', async () => {
      const created = await h.create(service('wh-def-empty', { traffic: [] }));
      expect(created.spec.traffic).toEqual([{ percent: 100, latestRevision: true }]);
    });

    it('defaults traffic again when a merge patch removes it', async () => {
      await h.create(
        service('wh-def-null', {
          traffic: [
            { tag: 'a', percent: 50 },
            { tag: 'b', percent: 50 },
          ],
        }),
      );
      const patched = await h.mergePatch('wh-def-null', { spec: { traffic: null } });
      expect(patched.spec.traffic).toEqual([{ percent: 100, latestRevision: true }]);
    });

    it('fills latestRevision from revisionName and percent 0 when unset, keeping what is set', async () => {
      const created = await h.create(
        service('wh-def-entries', {
          revisionName: 'wh-def-entries-v1',
          traffic: [
            { tag: 'a', percent: 100 },
            { revisionName: 'wh-def-entries-v1', tag: 'b' },
            { revisionName: 'wh-def-entries-v1', latestRevision: false, percent: 0, tag: 'c' },
          ],
        }),
      );
      const expected = [
        { tag: 'a', percent: 100, latestRevision: true },
        { revisionName: 'wh-def-entries-v1', tag: 'b', latestRevision: false, percent: 0 },
        { revisionName: 'wh-def-entries-v1', latestRevision: false, percent: 0, tag: 'c' },
      ];
      expect(created.spec.traffic).toEqual(expected);
      expect((await h.get('services', 'wh-def-entries')).spec.traffic).toEqual(expected);
    });

    it('defaults the container name, timeoutSeconds and containerConcurrency, keeping set values', async () => {
      const created = await h.create(service('wh-def-pod'));
      const spec = created.spec.template.spec;
      expect(spec.containers[0].name).toBe('user-container');
      expect(spec.timeoutSeconds).toBe(300);
      expect(spec.containerConcurrency).toBe(0);
      expect((await h.get('services', 'wh-def-pod')).spec).toEqual(created.spec);

      const set = service('wh-def-pod-set');
      set.spec.template.spec.containers[0].name = 'app';
      set.spec.template.spec.timeoutSeconds = 60;
      set.spec.template.spec.containerConcurrency = 10;
      const kept = (await h.create(set)).spec.template.spec;
      expect(kept.containers[0].name).toBe('app');
      expect(kept.timeoutSeconds).toBe(60);
      expect(kept.containerConcurrency).toBe(10);
    });

    it('sets creator and lastModifier to the requesting user on create, whatever the manifest says', async () => {
      const plain = await h.create(service('wh-def-user'));
      expect(plain.metadata.annotations).toMatchObject({ [CREATOR]: USER, [LAST_MODIFIER]: USER });
      const forged = service('wh-def-forged');
      forged.metadata.annotations = { [CREATOR]: 'mallory', [LAST_MODIFIER]: 'mallory', keep: 'me' };
      const created = await h.create(forged);
      expect(created.metadata.annotations).toEqual({ [CREATOR]: USER, [LAST_MODIFIER]: USER, keep: 'me' });
    });

    it('leaves lastModifier alone on an update that does not change the spec, and sets it on one that does', async () => {
      const created = await h.create(service('wh-def-touch'));
      const labelled = await h.mergePatch('wh-def-touch', {
        metadata: { labels: { team: 'a' }, annotations: { note: 'x' } },
      });
      expect(labelled.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
      expect(labelled.metadata.annotations).toEqual({ ...created.metadata.annotations, note: 'x' });
      // A spec change sets lastModifier to the requester, even over a value the request carries.
      const changed = await h.mergePatch('wh-def-touch', {
        metadata: { annotations: { [LAST_MODIFIER]: 'mallory' } },
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/hello:v2' }] } } },
      });
      expect(changed.metadata.annotations[LAST_MODIFIER]).toBe(USER);
      expect(changed.metadata.annotations[CREATOR]).toBe(USER);
    });
  });

  describe('a denied write stores nothing', () => {
    it('leaves no object after a denied create', async () => {
      await denied(h.create(service('wh-none', { traffic: [{ latestRevision: true, percent: 1 }] })));
      expect(await notFound('wh-none')).toBe(404);
      const list = (await h.api.listNamespacedCustomObject({
        ...G,
        fieldSelector: 'metadata.name=wh-none',
      })) as KObject;
      expect(list.items).toEqual([]);
    });

    it('leaves the object untouched after a denied merge patch, JSON patch or update', async () => {
      await h.create(service('wh-keep'));
      const before = await h.settled('wh-keep');
      await denied(h.mergePatch('wh-keep', { spec: { traffic: [{ latestRevision: true, percent: 99 }] } }));
      await denied(jsonPatch('wh-keep', [{ op: 'replace', path: '/spec/traffic/0/percent', value: 101 }]));
      expect(
        await denied(h.mergePatch('wh-keep', { spec: { template: { metadata: { name: 'nope' } } } })),
      ).toBe('invalid value: "nope" must have prefix "wh-keep-": spec.template.metadata.name');
      const edited = structuredClone(before);
      edited.spec.template.spec.containers = [];
      edited.metadata.labels = { edited: 'yes' };
      await denied(replace('wh-keep', edited));
      const after = await h.get('services', 'wh-keep');
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect(after.metadata.generation).toBe(before.metadata.generation);
      expect(after.metadata.labels).toBeUndefined();
      expect(after.spec).toEqual(before.spec);
    });
  });
});
