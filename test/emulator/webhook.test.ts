// Knative Serving's admission webhooks through the real API (@kubernetes/client-node over HTTP): every validation
// message of the facts file with its exact wording, paths and order, the defaulting of Services, the creator and
// lastModifier annotations, and that a denied write stores nothing.

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION, apiError, readyStatus, service, startHarness, type Harness } from './helpers.ts';
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

  /** A Service whose template is changed by `edit` (the only container is `c`, the template is `t`). */
  const withTemplate = (name: string, edit: (t: KObject, c: KObject) => void) => {
    const svc = service(name);
    svc.spec.template.metadata ??= {};
    edit(svc.spec.template, svc.spec.template.spec.containers[0]);
    return svc;
  };
  const C0 = 'spec.template.spec.containers[0]';
  const C1 = 'spec.template.spec.containers[1]';
  const TA = 'spec.template.metadata.annotations';
  const MAX32 = 2147483647;
  const SHA = 'a'.repeat(64);

  describe('validation of the pod spec (pkg/apis/serving/k8s_validation.go)', () => {
    // validateEnvVar: reserved names, in the serving container.
    it.each(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'])(
      'rejects the reserved env name %s',
      async (env) => {
        const name = `wh-env-${env.toLowerCase().replace('_', '-')}`;
        const svc = withTemplate(
          name,
          (_t, c) =>
            (c.env = [
              { name: 'OK', value: '1' },
              { name: env, value: 'x' },
            ]),
        );
        expect(await denied(h.create(svc))).toBe(
          `"${env}" is a reserved environment variable: ${C0}.env[1].name`,
        );
        expect(await notFound(name)).toBe(404);
      },
    );

    // validateContainerPortBasic: reservedPorts (networking constants and runtime.ProfilingDefaultPort 8008).
    it.each([8012, 8013, 8022, 9090, 9091, 8008])('rejects the reserved port %i', async (port) => {
      const svc = withTemplate(`wh-port-${port}`, (_t, c) => (c.ports = [{ containerPort: port }]));
      expect(await denied(h.create(svc))).toBe(
        `invalid value: ${port} is a reserved port: ${C0}.ports.containerPort\n` +
          `${port} is a reserved port, please use a different value`,
      );
    });

    // validateContainerPorts, validateContainerPortBasic and validateContainersPorts
    it.each<[string, KObject[], string]>([
      [
        'a port above 65535',
        [{ containerPort: 70000 }],
        `expected 0 <= 70000 <= 65535: ${C0}.ports.containerPort`,
      ],
      ['a negative port', [{ containerPort: -1 }], `expected 0 <= -1 <= 65535: ${C0}.ports.containerPort`],
      [
        'a port name other than h2c or http1',
        [{ containerPort: 8080, name: 'grpc' }],
        `Port name grpc is not allowed: ${C0}.ports\nName must be empty, or one of: 'h2c', 'http1'`,
      ],
      ['a UDP port', [{ containerPort: 8080, protocol: 'UDP' }], `invalid value: UDP: ${C0}.ports.protocol`],
      [
        'a hostPort (ContainerPortMask)',
        [{ containerPort: 8080, hostPort: 80 }],
        `must not set the field(s): ${C0}.ports.hostPort`,
      ],
      [
        'two ports',
        [{ containerPort: 8080 }, { containerPort: 8081 }],
        'more than one container port is set: spec.template.spec.containers[*].ports\n' +
          'Only a single port is allowed across all containers',
      ],
    ])('rejects %s', async (_what, ports, errors) => {
      const svc = withTemplate('wh-ports', (_t, c) => (c.ports = ports));
      expect(await denied(h.create(svc))).toBe(errors);
    });

    it.each(['h2c', 'http1', ''])('accepts the port name %j', async (portName) => {
      const name = `wh-port-name-${portName || 'empty'}`;
      const created = await h.create(
        withTemplate(name, (_t, c) => (c.ports = [{ containerPort: 8081, name: portName }])),
      );
      expect(created.spec.template.spec.containers[0].ports).toEqual([
        { containerPort: 8081, name: portName },
      ]);
    });

    // validate: name.ParseReference(image, name.WeakValidation) from go-containerregistry.
    it.each([
      ['an upper-case repository', 'ghcr.io/Example/App:v1'],
      ['a one-character repository', 'a'],
      ['a tag with a space', 'ghcr.io/example/app:v 1'],
      ['a tag of 129 characters', `ghcr.io/example/app:${'t'.repeat(129)}`],
      ['a digest that is not sha256', 'ghcr.io/example/app@md5:abc'],
      ['a short sha256 digest', 'ghcr.io/example/app@sha256:abc'],
      ['a registry with a bad port', 'ghcr.io:x/example/app'],
      ['two @ separators', `ghcr.io/example/app@sha256:${SHA}@sha256:${SHA}`],
    ])('rejects an image reference with %s', async (_what, image) => {
      const svc = withTemplate('wh-image', (_t, c) => (c.image = image));
      expect(await denied(h.create(svc))).toBe(
        `Failed to parse image reference: ${C0}.image\n` +
          `image: ${JSON.stringify(image)}, error: could not parse reference: ${image}`,
      );
    });

    it('rejects an empty image as missing', async () => {
      const svc = withTemplate('wh-image-empty', (_t, c) => (c.image = ''));
      expect(await denied(h.create(svc))).toBe(`missing field(s): ${C0}.image`);
    });

    it.each([
      'ubuntu',
      'GHCR.IO/example/app:V1',
      'localhost:5000/team/app:1.2.3',
      `ghcr.io/example/app@sha256:${SHA}`,
      `ghcr.io/example/app:1@sha256:${SHA}`,
      '[::1]:5000/app',
    ])('accepts the image reference %s', async (image) => {
      const name = `wh-img-ok-${Math.abs([...image].reduce((a, ch) => (a * 31 + ch.charCodeAt(0)) | 0, 7))}`;
      const created = await h.create(withTemplate(name, (_t, c) => (c.image = image)));
      expect(created.spec.template.spec.containers[0].image).toBe(image);
    });

    it('rejects the reserved container name queue-proxy and a bad terminationMessagePolicy', async () => {
      const svc = withTemplate('wh-qp', (_t, c) => {
        c.name = 'queue-proxy';
        c.terminationMessagePolicy = 'Always';
      });
      expect((await denied(h.create(svc))).split('\n')).toEqual([
        `"queue-proxy" is a reserved container name: ${C0}.name`,
        `invalid value: Always: ${C0}.terminationMessagePolicy`,
      ]);
    });

    it('rejects init containers (pod-spec-init-containers is Disabled by default) with no path', async () => {
      const svc = withTemplate('wh-init', (t) => (t.spec.initContainers = [{ image: 'busybox' }]));
      expect(await denied(h.create(svc))).toBe(
        'pod spec support for init-containers is off, but found 1 init containers: ',
      );
    });

    it('rejects a serviceAccountName that is not a DNS-1123 subdomain', async () => {
      const svc = withTemplate('wh-sa', (t) => (t.spec.serviceAccountName = 'Bad_Name'));
      expect(await denied(h.create(svc))).toMatch(
        /^invalid value: Bad_Name: spec\.template\.spec\.serviceAccountName\na lowercase RFC 1123 subdomain/,
      );
    });
  });

  describe('multi-container revisions (k8s_validation.go validateContainers; features.go multi-container Enabled)', () => {
    it('accepts a sidecar next to the container with the port, defaulting names and the probe as Knative does', async () => {
      const svc = withTemplate('wh-multi', (t) => {
        t.spec.containers = [
          { image: 'ghcr.io/example/sidecar:v1', env: [{ name: 'PORT', value: '9999' }] },
          { image: 'ghcr.io/example/hello:v1', ports: [{ containerPort: 8080 }] },
        ];
      });
      const created = await h.create(svc);
      // revision_defaults.go: applyDefaultContainerNames numbers every container; the readiness probe goes on
      // the container with the port only. A sidecar may set PORT (reservedSidecarEnvVars).
      expect(created.spec.template.spec.containers).toEqual([
        {
          name: 'user-container-0',
          image: 'ghcr.io/example/sidecar:v1',
          env: [{ name: 'PORT', value: '9999' }],
          resources: {},
        },
        {
          name: 'user-container-1',
          image: 'ghcr.io/example/hello:v1',
          ports: [{ containerPort: 8080 }],
          resources: {},
          readinessProbe: { tcpSocket: { port: 0 }, successThreshold: 1 },
        },
      ]);
    });

    it('skips user-supplied names when numbering containers (applyDefaultContainerNames)', async () => {
      const svc = withTemplate('wh-multi-names', (t) => {
        t.spec.containers = [
          { image: 'ghcr.io/example/a:v1' },
          { name: 'user-container-0', image: 'ghcr.io/example/b:v1', ports: [{ containerPort: 8080 }] },
          { image: 'ghcr.io/example/c:v1' },
        ];
      });
      const names = (await h.create(svc)).spec.template.spec.containers.map((c: KObject) => c.name);
      expect(names).toEqual(['user-container-1', 'user-container-0', 'user-container-2']);
    });

    it.each<[string, KObject[], string[]]>([
      [
        'no container with a port',
        [{ image: 'ghcr.io/example/a:v1' }, { image: 'ghcr.io/example/b:v1' }],
        ['missing field(s): spec.template.spec.containers[*].ports'],
      ],
      [
        'two containers with a port',
        [
          { image: 'ghcr.io/example/a:v1', ports: [{ containerPort: 8080 }] },
          { image: 'ghcr.io/example/b:v1', ports: [{ containerPort: 8081 }] },
        ],
        [
          'more than one container port is set: spec.template.spec.containers[*].ports',
          'Only a single port is allowed across all containers',
        ],
      ],
      [
        'two containers with the same name',
        [
          { name: 'app', image: 'ghcr.io/example/a:v1', ports: [{ containerPort: 8080 }] },
          { name: 'app', image: 'ghcr.io/example/b:v1' },
        ],
        [`duplicate container name "app": ${C1}.name`],
      ],
      [
        'a sidecar with a reserved env name other than PORT',
        [
          { image: 'ghcr.io/example/a:v1', ports: [{ containerPort: 8080 }] },
          { image: 'ghcr.io/example/b:v1', env: [{ name: 'K_REVISION', value: 'x' }] },
        ],
        [`"K_REVISION" is a reserved environment variable: ${C1}.env[0].name`],
      ],
      [
        // validateSidecarContainer: multi-container-probing is Disabled, so ProbeMask(&corev1.Probe{}) allows
        // nothing; the inlined handler is named "" by kmp and so reported at the probe itself.
        'a sidecar with probes',
        [
          { image: 'ghcr.io/example/a:v1', ports: [{ containerPort: 8080 }] },
          {
            image: 'ghcr.io/example/b:v1',
            readinessProbe: { httpGet: { path: '/ready', port: 9000 }, periodSeconds: 5 },
            livenessProbe: { exec: { command: ['true'] } },
          },
        ],
        [
          `must not set the field(s): ${C1}.livenessProbe, ${C1}.readinessProbe, ${C1}.readinessProbe.failureThreshold, ` +
            `${C1}.readinessProbe.periodSeconds, ${C1}.readinessProbe.successThreshold, ${C1}.readinessProbe.timeoutSeconds`,
        ],
      ],
    ])('rejects %s', async (_what, containers, errors) => {
      const svc = withTemplate('wh-multi-bad', (t) => (t.spec.containers = containers));
      expect((await denied(h.create(svc))).split('\n')).toEqual(errors);
    });

    it('serves the container with the port, not the first one', async () => {
      const svc = withTemplate('wh-multi-serve', (t) => {
        t.spec.containers = [
          { image: 'ghcr.io/example/sidecar:v1', env: [{ name: 'WHO', value: 'sidecar' }] },
          {
            image: 'ghcr.io/example/hello:v1',
            ports: [{ containerPort: 8080 }],
            env: [{ name: 'WHO', value: 'app' }],
          },
        ];
      });
      await h.create(svc);
      expect(readyStatus(await h.settled('wh-multi-serve'))).toBe('True');
      const res = await request(h.emulator.gatewayUrl, {
        headers: { host: 'wh-multi-serve.default.example.com' },
      });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as KObject).env.WHO).toBe('app');
    });
  });

  describe('validation of probes (k8s_validation.go validateProbe, validateReadinessProbe)', () => {
    it.each<[string, (c: KObject) => void, string]>([
      [
        'two handlers',
        (c) => (c.readinessProbe = { httpGet: { path: '/' }, tcpSocket: {} }),
        `expected exactly one, got both: ${C0}.readinessProbe.httpGet, ${C0}.readinessProbe.tcpSocket`,
      ],
      [
        'exec and grpc (named gRPC in the error, as Knative lists it)',
        (c) => (c.readinessProbe = { exec: { command: ['true'] }, grpc: { port: 8080 } }),
        `expected exactly one, got both: ${C0}.readinessProbe.exec, ${C0}.readinessProbe.gRPC`,
      ],
      [
        'a liveness probe without a handler',
        (c) => (c.livenessProbe = { periodSeconds: 5 }),
        `expected exactly one, got neither: ${C0}.livenessProbe.exec, ${C0}.livenessProbe.grpc, ` +
          `${C0}.livenessProbe.httpGet, ${C0}.livenessProbe.tcpSocket`,
      ],
      [
        'a startup probe without a handler',
        (c) => (c.startupProbe = { failureThreshold: 30 }),
        `expected exactly one, got neither: ${C0}.startupProbe.exec, ${C0}.startupProbe.grpc, ` +
          `${C0}.startupProbe.httpGet, ${C0}.startupProbe.tcpSocket`,
      ],
      [
        'a negative readiness periodSeconds',
        (c) => (c.readinessProbe = { tcpSocket: {}, periodSeconds: -1 }),
        `expected 0 <= -1 <= ${MAX32}: ${C0}.readinessProbe.periodSeconds`,
      ],
      [
        'a negative readiness initialDelaySeconds',
        (c) => (c.readinessProbe = { tcpSocket: {}, initialDelaySeconds: -1 }),
        `expected 0 <= -1 <= ${MAX32}: ${C0}.readinessProbe.initialDelaySeconds`,
      ],
      [
        'a negative readiness successThreshold',
        (c) => (c.readinessProbe = { tcpSocket: {}, successThreshold: -1 }),
        `expected 1 <= -1 <= ${MAX32}: ${C0}.readinessProbe.successThreshold`,
      ],
      [
        'a failureThreshold with periodSeconds 0',
        (c) => (c.readinessProbe = { tcpSocket: {}, failureThreshold: 3 }),
        `failureThreshold is disallowed when periodSeconds is zero: ${C0}.readinessProbe.failureThreshold`,
      ],
      [
        'a timeoutSeconds with periodSeconds 0',
        (c) => (c.readinessProbe = { tcpSocket: {}, timeoutSeconds: 2 }),
        `timeoutSeconds is disallowed when periodSeconds is zero: ${C0}.readinessProbe.timeoutSeconds`,
      ],
      [
        'a negative timeoutSeconds with a period',
        (c) => (c.readinessProbe = { tcpSocket: {}, periodSeconds: 5, timeoutSeconds: -1 }),
        `expected 1 <= -1 <= ${MAX32}: ${C0}.readinessProbe.timeoutSeconds`,
      ],
      [
        'a negative failureThreshold with a period',
        (c) => (c.readinessProbe = { tcpSocket: {}, periodSeconds: 5, failureThreshold: -2 }),
        `expected 1 <= -2 <= ${MAX32}: ${C0}.readinessProbe.failureThreshold`,
      ],
      [
        'an httpGet port name that is not the container port',
        (c) => (c.readinessProbe = { httpGet: { path: '/', port: 'admin' } }),
        `invalid value: admin: ${C0}.readinessProbe.httpGet.port\nProbe port must match container port`,
      ],
      [
        'a port number written as a string (an IntOrString StrVal)',
        (c) => (c.livenessProbe = { tcpSocket: { port: '8080' } }),
        `invalid value: 8080: ${C0}.livenessProbe.tcpSocket.port\nProbe port must match container port`,
      ],
      [
        // Knative's errs.Also(...).ViaField("tcpSocket") prefixes every error gathered before it.
        'a bad httpGet port next to a tcpSocket (the path Knative prints)',
        (c) => (c.readinessProbe = { httpGet: { port: 'admin' }, tcpSocket: {} }),
        `expected exactly one, got both: ${C0}.readinessProbe.httpGet, ${C0}.readinessProbe.tcpSocket\n` +
          `invalid value: admin: ${C0}.readinessProbe.tcpSocket.httpGet.port\nProbe port must match container port`,
      ],
    ])('rejects %s', async (_what, edit, errors) => {
      const svc = withTemplate('wh-probe', (_t, c) => edit(c));
      expect(await denied(h.create(svc))).toBe(errors);
    });

    it('bounds readiness probes only: the same values on a liveness probe pass the webhook', async () => {
      const values = {
        tcpSocket: {},
        periodSeconds: 0,
        failureThreshold: 3,
        timeoutSeconds: 5,
        initialDelaySeconds: -1,
      };
      const live = await h.create(
        withTemplate('wh-probe-live', (_t, c) => (c.livenessProbe = { ...values })),
      );
      expect(live.spec.template.spec.containers[0].livenessProbe).toEqual(values);
      expect(
        (
          await denied(
            h.create(withTemplate('wh-probe-ready', (_t, c) => (c.readinessProbe = { ...values }))),
          )
        ).split('\n'),
      ).toEqual([
        `expected 0 <= -1 <= ${MAX32}: ${C0}.readinessProbe.initialDelaySeconds`,
        `failureThreshold is disallowed when periodSeconds is zero: ${C0}.readinessProbe.failureThreshold`,
        `timeoutSeconds is disallowed when periodSeconds is zero: ${C0}.readinessProbe.timeoutSeconds`,
      ]);
    });

    it('accepts probe ports named as the container port (http when unnamed) or given as numbers', async () => {
      const unnamed = await h.create(
        withTemplate('wh-probe-http', (_t, c) => {
          c.ports = [{ containerPort: 8081 }];
          c.readinessProbe = { httpGet: { path: '/ready', port: 'http' } };
          c.livenessProbe = { tcpSocket: { port: 1234 } };
        }),
      );
      expect(unnamed.spec.template.spec.containers[0].readinessProbe.httpGet.port).toBe('http');
      const h2c = await h.create(
        withTemplate('wh-probe-h2c', (_t, c) => {
          c.ports = [{ containerPort: 8081, name: 'h2c' }];
          c.readinessProbe = { httpGet: { port: 'h2c' } };
        }),
      );
      expect(h2c.spec.template.spec.containers[0].readinessProbe.httpGet.port).toBe('h2c');
      const wrong = withTemplate('wh-probe-h2c-http', (_t, c) => {
        c.ports = [{ containerPort: 8081, name: 'h2c' }];
        c.readinessProbe = { httpGet: { port: 'http' } };
      });
      expect(await denied(h.create(wrong))).toBe(
        `invalid value: http: ${C0}.readinessProbe.httpGet.port\nProbe port must match container port`,
      );
    });
  });

  describe('validation of annotations', () => {
    // pkg/apis/autoscaling/annotation_validation.go ValidateAnnotations, on spec.template.metadata.annotations
    it.each<[string, Record<string, string>, string]>([
      [
        'a min-scale that is no number',
        { 'autoscaling.knative.dev/min-scale': 'x' },
        `invalid value: x: ${TA}.autoscaling.knative.dev/min-scale`,
      ],
      [
        'a negative min-scale',
        { 'autoscaling.knative.dev/min-scale': '-1' },
        `expected 0 <= -1 <= ${MAX32}: ${TA}.autoscaling.knative.dev/min-scale`,
      ],
      [
        'a max-scale beyond int32',
        { 'autoscaling.knative.dev/max-scale': '3000000000' },
        `expected 0 <= 3000000000 <= ${MAX32}: ${TA}.autoscaling.knative.dev/max-scale`,
      ],
      [
        'the legacy minScale key, named as given',
        { 'autoscaling.knative.dev/minScale': 'x' },
        `invalid value: x: ${TA}.autoscaling.knative.dev/minScale`,
      ],
      [
        'a max-scale below min-scale',
        { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '2' },
        `max-scale=2 is less than min-scale=3: ${TA}.autoscaling.knative.dev/max-scale, ${TA}.autoscaling.knative.dev/min-scale`,
      ],
      [
        'an initial-scale of 0 (allow-zero-initial-scale false)',
        { 'autoscaling.knative.dev/initial-scale': '0' },
        `invalid value: 0: ${TA}.autoscaling.knative.dev/initial-scale=0 not allowed by cluster`,
      ],
      [
        'a negative initial-scale',
        { 'autoscaling.knative.dev/initial-scale': '-1' },
        `invalid value: -1: ${TA}.autoscaling.knative.dev/initial-scale must be greater than 0`,
      ],
      [
        'a target below 0.01',
        { 'autoscaling.knative.dev/target': '0' },
        `target 0 should be at least 0.01: ${TA}.autoscaling.knative.dev/target`,
      ],
      [
        'a target that is no number',
        { 'autoscaling.knative.dev/target': 'lots' },
        `invalid value: lots: ${TA}.autoscaling.knative.dev/target`,
      ],
      [
        'a cpu metric under the default KPA class',
        { 'autoscaling.knative.dev/metric': 'cpu' },
        `invalid value: cpu: ${TA}.autoscaling.knative.dev/metric`,
      ],
      [
        'a Knative class that does not exist',
        { 'autoscaling.knative.dev/class': 'foo.autoscaling.knative.dev' },
        `invalid value: foo.autoscaling.knative.dev: ${TA}.autoscaling.knative.dev/class`,
      ],
      [
        'a window below 6s',
        { 'autoscaling.knative.dev/window': '5s' },
        `expected 6s <= 5s <= 1h0m0s: ${TA}.autoscaling.knative.dev/window`,
      ],
      [
        'a window finer than seconds',
        { 'autoscaling.knative.dev/window': '6500ms' },
        `must be specified with at most second precision: ${TA}.autoscaling.knative.dev/window`,
      ],
      [
        'a scale-down-delay above 1h',
        { 'autoscaling.knative.dev/scale-down-delay': '2h' },
        `expected 0s <= 2h <= 1h0m0s: ${TA}.autoscaling.knative.dev/scale-down-delay`,
      ],
      [
        'a target-utilization-percentage above 100',
        { 'autoscaling.knative.dev/target-utilization-percentage': '101' },
        `expected 1 <= 101 <= 100: ${TA}.autoscaling.knative.dev/target-utilization-percentage`,
      ],
      [
        'a panic-threshold-percentage below 110',
        { 'autoscaling.knative.dev/panic-threshold-percentage': '100' },
        `expected 110 <= 100 <= 1000: ${TA}.autoscaling.knative.dev/panic-threshold-percentage`,
      ],
      [
        'a target-burst-capacity of -2',
        { 'autoscaling.knative.dev/target-burst-capacity': '-2' },
        `invalid value: -2: ${TA}.autoscaling.knative.dev/target-burst-capacity`,
      ],
      [
        'an activation-scale of 1',
        { 'autoscaling.knative.dev/activation-scale': '1' },
        `activation-scale=1 must be greater than 1: ${TA}.autoscaling.knative.dev/activation-scale`,
      ],
      // knative/networking pkg/apis/networking/metadata_validation.go ValidateAnnotations
      [
        'an unknown networking.knative.dev annotation',
        { 'networking.knative.dev/foo': 'bar' },
        `invalid key name "networking.knative.dev/foo": ${TA}`,
      ],
      // revision_validation.go validateProgressDeadlineAnnotation
      [
        'a progress-deadline that is no duration',
        { 'serving.knative.dev/progress-deadline': 'soon' },
        `invalid value: soon: ${TA}.serving.knative.dev/progress-deadline`,
      ],
      [
        'a progress-deadline finer than seconds',
        { 'serving.knative.dev/progress-deadline': '1500ms' },
        `progress-deadline=1500ms is not at second precision: ${TA}.serving.knative.dev/progress-deadline`,
      ],
      [
        'a negative progress-deadline',
        { 'serving.knative.dev/progress-deadline': '-5s' },
        `progress-deadline=-5s must be positive: ${TA}.serving.knative.dev/progress-deadline`,
      ],
    ])('rejects %s on the template', async (_what, annotations, errors) => {
      const svc = withTemplate('wh-anno', (t) => (t.metadata.annotations = annotations));
      expect(await denied(h.create(svc))).toBe(errors);
    });

    it('accepts valid autoscaling annotations, hpa metrics and Go durations', async () => {
      const annotations = {
        'autoscaling.knative.dev/min-scale': '1',
        'autoscaling.knative.dev/max-scale': '5',
        'autoscaling.knative.dev/initial-scale': '2',
        'autoscaling.knative.dev/target': '0.5',
        'autoscaling.knative.dev/window': '1m30s',
        'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
        'autoscaling.knative.dev/metric': 'cpu',
        'serving.knative.dev/progress-deadline': '1m30s',
        'networking.knative.dev/disable-auto-tls': 'true',
      };
      const created = await h.create(
        withTemplate('wh-anno-ok', (t) => (t.metadata.annotations = annotations)),
      );
      expect(created.spec.template.metadata.annotations).toEqual(annotations);
    });

    // metadata_validation.go ValidateHasNoAutoscalingAnnotation and ValidateRolloutDurationAnnotation
    it.each<[string, Record<string, string>, string[]]>([
      [
        'an autoscaling annotation',
        { 'autoscaling.knative.dev/min-scale': '1' },
        [
          'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations',
          'autoscaling annotations must be put under "spec.template.metadata.annotations" to work',
        ],
      ],
      [
        'a rollout-duration that is no duration',
        { 'serving.knative.dev/rollout-duration': '5 minutes' },
        ['invalid value: 5 minutes: metadata.annotations.serving.knative.dev/rollout-duration'],
      ],
      [
        'a rollout-duration finer than seconds',
        { 'serving.knative.dev/rollout-duration': '1.5s' },
        [
          'rollout-duration=1.5s is not at second precision: metadata.annotations.serving.knative.dev/rollout-duration',
        ],
      ],
      [
        'a negative rollout-duration',
        { 'serving.knative.dev/rollout-duration': '-1m' },
        ['rollout-duration=-1m must be positive: metadata.annotations.serving.knative.dev/rollout-duration'],
      ],
      [
        'the legacy rolloutDuration key',
        { 'serving.knative.dev/rolloutDuration': 'x' },
        ['invalid value: x: metadata.annotations.serving.knative.dev/rolloutDuration'],
      ],
    ])('rejects %s on the Service', async (_what, annotations, errors) => {
      const svc = service('wh-svc-anno');
      svc.metadata.annotations = annotations;
      expect((await denied(h.create(svc))).split('\n')).toEqual(errors);
    });

    it('accepts a rollout-duration in any Go duration form with whole seconds', async () => {
      for (const [i, d] of ['0', '2m30s', '1h', '90s'].entries()) {
        const svc = service(`wh-rollout-${i}`);
        svc.metadata.annotations = { 'serving.knative.dev/rollout-duration': d };
        expect((await h.create(svc)).metadata.annotations['serving.knative.dev/rollout-duration']).toBe(d);
      }
    });
  });

  describe('defaulting of the revision spec (pkg/apis/serving/v1/revision_defaults.go RevisionSpec.SetDefaults)', () => {
    it('gives a timeoutSeconds of 0 the default, and responseStartTimeoutSeconds only above 300', async () => {
      const zero = await h.create(withTemplate('wh-def-zero', (t) => (t.spec.timeoutSeconds = 0)));
      expect(zero.spec.template.spec.timeoutSeconds).toBe(300);
      expect(zero.spec.template.spec).not.toHaveProperty('responseStartTimeoutSeconds');
      expect(zero.spec.template.spec).not.toHaveProperty('idleTimeoutSeconds');
      const long = await h.create(withTemplate('wh-def-long', (t) => (t.spec.timeoutSeconds = 600)));
      expect(long.spec.template.spec.responseStartTimeoutSeconds).toBe(300);
      const kept = await h.create(
        withTemplate('wh-def-kept', (t) => {
          t.spec.timeoutSeconds = 600;
          t.spec.responseStartTimeoutSeconds = 30;
        }),
      );
      expect(kept.spec.template.spec.responseStartTimeoutSeconds).toBe(30);
    });

    it('defaults the whole single-container spec as Knative stores it', async () => {
      const created = await h.create(service('wh-def-all'));
      expect(created.spec.template.spec).toEqual({
        containers: [
          {
            name: 'user-container',
            image: 'ghcr.io/example/hello:v1',
            resources: {},
            readinessProbe: { tcpSocket: { port: 0 }, successThreshold: 1 },
          },
        ],
        enableServiceLinks: false,
        timeoutSeconds: 300,
        containerConcurrency: 0,
      });
    });

    it('fills failureThreshold and timeoutSeconds of a readiness probe with a period, and a gRPC service', async () => {
      const created = await h.create(
        withTemplate('wh-def-probe', (_t, c) => {
          c.readinessProbe = { httpGet: { path: '/ready' }, periodSeconds: 5 };
          c.livenessProbe = { grpc: { port: 9000 } };
        }),
      );
      const c = created.spec.template.spec.containers[0];
      expect(c.readinessProbe).toEqual({
        httpGet: { path: '/ready' },
        periodSeconds: 5,
        successThreshold: 1,
        failureThreshold: 3,
        timeoutSeconds: 1,
      });
      expect(c.livenessProbe).toEqual({ grpc: { port: 9000, service: '' } });
    });

    it('defaults enableServiceLinks on create only', async () => {
      await h.create(service('wh-def-links'));
      const current = await h.settled('wh-def-links');
      const edited = structuredClone(current);
      delete edited.spec.template.spec.enableServiceLinks;
      edited.spec.template.spec.containers[0].image = 'ghcr.io/example/hello:v2';
      const updated = await replace('wh-def-links', edited);
      expect(updated.spec.template.spec).not.toHaveProperty('enableServiceLinks');
    });
  });

  describe('VerifyNameChange (pkg/apis/serving/v1/revision_validation.go) and its diff (knative.dev/pkg kmp.ShortDiff)', () => {
    const NAME_CHANGE =
      'Saw the following changes without a name change (-old +new): spec.template.metadata.name\n';

    it("prints go-cmp's path of Go field names and the old and new values", async () => {
      const svc = withTemplate('wh-diff', (t, c) => {
        t.metadata = { name: 'wh-diff-one', annotations: { 'autoscaling.knative.dev/max-scale': '5' } };
        c.image = 'ghcr.io/example/app:1';
      });
      await h.create(svc);
      await h.settled('wh-diff');
      expect(
        await denied(
          jsonPatch('wh-diff', [
            { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'ghcr.io/example/app:2' },
          ]),
        ),
      ).toBe(
        NAME_CHANGE +
          '{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0].Image:\n' +
          '\t-: "ghcr.io/example/app:1"\n\t+: "ghcr.io/example/app:2"\n',
      );
      // In Go struct order (ObjectMeta before Spec): a new map key has only a + line, a pointer changed on both
      // sides is printed through it (`*path`).
      expect(
        await denied(
          h.mergePatch('wh-diff', {
            spec: {
              template: {
                spec: { timeoutSeconds: 60 },
                metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } },
              },
            },
          }),
        ),
      ).toBe(
        NAME_CHANGE +
          '{*v1.RevisionTemplateSpec}.ObjectMeta.Annotations["autoscaling.knative.dev/min-scale"]:\n\t+: "1"\n' +
          '*{*v1.RevisionTemplateSpec}.Spec.TimeoutSeconds:\n\t-: "300"\n\t+: "60"\n',
      );
    });

    it('reports a map that was nil in Go as a whole (go-cmp compares nil and non-nil maps at the map)', async () => {
      await h.create(service('wh-diff-nil', { revisionName: 'wh-diff-nil-one' }));
      await h.settled('wh-diff-nil');
      expect(
        await denied(
          h.mergePatch('wh-diff-nil', { spec: { template: { metadata: { annotations: { team: 'a' } } } } }),
        ),
      ).toBe(
        NAME_CHANGE +
          '{*v1.RevisionTemplateSpec}.ObjectMeta.Annotations:\n\t-: "map[]"\n\t+: "map[team:a]"\n',
      );
    });

    it('does not default a template that keeps its BYO name: a lost default is a change (configuration_defaults.go)', async () => {
      await h.create(service('wh-nodef', { revisionName: 'wh-nodef-one' }));
      const current = await h.settled('wh-nodef');
      // The stored Service put back as it is: nothing to default, nothing changed.
      const same = await replace('wh-nodef', structuredClone(current));
      expect(same.metadata.generation).toBe(current.metadata.generation);
      // Without the defaulted readiness probe: not defaulted again, so the template changed under the same name.
      const stripped = structuredClone(current);
      delete stripped.spec.template.spec.containers[0].readinessProbe;
      const errors = await denied(replace('wh-nodef', stripped));
      expect(
        errors.startsWith(
          `${NAME_CHANGE}{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0].ReadinessProbe:\n\t-: `,
        ),
      ).toBe(true);
      expect(errors).not.toContain('\t+: ');
      // With a new name, the same template is defaulted and accepted.
      stripped.spec.template.metadata.name = 'wh-nodef-two';
      const renamed = await replace('wh-nodef', stripped);
      expect(renamed.spec.template.spec.containers[0].readinessProbe).toEqual({
        tcpSocket: { port: 0 },
        successThreshold: 1,
      });
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
