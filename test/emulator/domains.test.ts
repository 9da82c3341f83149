// Route hosts: the tag-template and domain-template, the 63-character host label that fails a Route with
// ErrorConfig, and cluster-local visibility (its URLs, and which gateway serves which host). Each test names the
// Knative source it follows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  domainNameFromTemplate,
  expandedHosts,
  fqdnError,
  checkTemplates,
  hostnameFromTemplate,
  ingressHosts,
  routeUrl,
  routeVisibility,
  setTagUrls,
  targetVisibility,
  VISIBILITY_LABEL,
} from './domains.ts';
import { condition, sendRequests, service, startHarness, type Harness } from './helpers.ts';
import type { KObject } from './util.ts';

const CFG = { domain: 'example.com' };
const meta = (name: string, labels?: Record<string, string>) => ({ name, namespace: 'default', labels });
const LOCAL = { [VISIBILITY_LABEL]: 'cluster-local' };

describe('hosts from the templates (pkg/reconciler/route/domains/domains.go)', () => {
  it('names a tag `<tag>-<name>` (tag-template) and the route by its name', () => {
    expect(hostnameFromTemplate(CFG, 'hello', '')).toBe('hello');
    expect(hostnameFromTemplate(CFG, 'hello', 'latest')).toBe('latest-hello');
    expect(hostnameFromTemplate({ ...CFG, tagTemplate: '{{.Name}}-{{.Tag}}' }, 'hello', 'latest')).toBe(
      'hello-latest',
    );
  });

  // knative/networking pkg/config/config.go checkTagTemplate: the tag-template gets only Name and Tag.
  it('refuses a tag-template that uses a field it does not get, as config-network does', () => {
    expect(() => checkTemplates({ ...CFG, tagTemplate: '{{.Tag}}-{{.Name}}-{{.Namespace}}' })).toThrow(
      /can't evaluate field Namespace/,
    );
    expect(() => checkTemplates({ ...CFG, tagTemplate: '{{.Tag}}-{{.Name}}-preview' })).not.toThrow();
    expect(() =>
      checkTemplates({ ...CFG, domainTemplate: '{{.Name}}.{{.Namespace}}.{{.Domain}}' }),
    ).not.toThrow();
  });

  it('puts the hostname in the domain-template, with labels and annotations available', () => {
    const withTeam = { ...meta('hello', { team: 'pay' }), annotations: { env: 'prod' } };
    const cfg = {
      ...CFG,
      domainTemplate: '{{.Name}}.{{index .Labels "team"}}-{{index .Annotations "env"}}.{{.Domain}}',
    };
    expect(domainNameFromTemplate(cfg, withTeam, 'latest-hello', 'ExternalIP')).toEqual({
      host: 'latest-hello.pay-prod.example.com',
    });
  });

  it('ignores the domain-template for a cluster-local host: the default one with svc.cluster.local', () => {
    const cfg = { ...CFG, domainTemplate: '{{.Name}}-{{.Namespace}}.{{.Domain}}' };
    expect(domainNameFromTemplate(cfg, meta('hello'), 'hello', 'ExternalIP')).toEqual({
      host: 'hello-default.example.com',
    });
    expect(domainNameFromTemplate(cfg, meta('hello'), 'hello', 'ClusterLocal')).toEqual({
      host: 'hello.default.svc.cluster.local',
    });
  });

  it('fails a host label over 63 characters with ErrDomainName and the IsFullyQualifiedDomainName message', () => {
    const ok = 'a'.repeat(57); // 57 + "-hello" = 63
    expect(domainNameFromTemplate(CFG, meta('hello'), `${ok}-hello`, 'ExternalIP')).toEqual({
      host: `${ok}-hello.default.example.com`,
    });
    const long = 'a'.repeat(58);
    // The message of knative/serving pkg/reconciler/route/table_test.go "invalid URL propagates updates route status".
    expect(domainNameFromTemplate(CFG, meta('hello'), `${long}-hello`, 'ExternalIP')).toEqual({
      error: {
        status: 'False',
        reason: 'ErrorConfig',
        message:
          `domain name error: invalid domain name "${long}-hello.default.example.com": ` +
          `url: Invalid value: "${long}-hello": must be no more than 63 characters`,
      },
    });
  });

  it('checks the whole host too: at most 253 characters, at least two labels', () => {
    const host = Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.');
    expect(fqdnError(host)).toBe(`url: Invalid value: "${host}": must be no more than 253 characters`);
    expect(fqdnError('localhost')).toBe(
      'url: Invalid value: "localhost": should be a domain with at least two segments separated by dots',
    );
    expect(fqdnError('hello.default.example.com.')).toBeUndefined();
  });

  it('sets the URL of each tagged target, or fails them all on one bad tag (traffic/traffic.go computeURL)', () => {
    const traffic = [{ tag: 'stable' }, {}, { tag: 'latest' }] as { tag?: string; url?: string }[];
    expect(setTagUrls(CFG, meta('hello'), traffic)).toBeUndefined();
    expect(traffic.map((t) => t.url)).toEqual([
      'http://stable-hello.default.example.com',
      undefined,
      'http://latest-hello.default.example.com',
    ]);
    const bad = [{ tag: 'stable' }, { tag: 'x'.repeat(58) }];
    expect(setTagUrls(CFG, meta('hello'), bad)?.reason).toBe('ErrorConfig');
  });
});

describe('visibility (pkg/reconciler/route/visibility/visibility.go, route/config/domain.go)', () => {
  it('makes a route cluster-local by the label networking.knative.dev/visibility=cluster-local', () => {
    expect(VISIBILITY_LABEL).toBe('networking.knative.dev/visibility');
    expect(routeVisibility(CFG, meta('hello', LOCAL))).toBe('ClusterLocal');
    expect(routeVisibility(CFG, meta('hello'))).toBe('ExternalIP');
    // LookupDomainForLabels wants exactly "cluster-local" on the route.
    expect(routeVisibility(CFG, meta('hello', { [VISIBILITY_LABEL]: 'private' }))).toBe('ExternalIP');
  });

  it('makes every route cluster-local when the domain is svc.cluster.local (the default since Knative 1.8)', () => {
    expect(routeVisibility({ domain: 'svc.cluster.local' }, meta('hello'))).toBe('ClusterLocal');
  });

  it('makes one tag cluster-local when its placeholder Service carries the label, with any value', () => {
    const placeholders = (h: string) => (h === 'latest-hello' ? { [VISIBILITY_LABEL]: 'yes' } : undefined);
    expect(targetVisibility(CFG, meta('hello'), 'latest', placeholders)).toBe('ClusterLocal');
    expect(targetVisibility(CFG, meta('hello'), 'stable', placeholders)).toBe('ExternalIP');
    expect(targetVisibility(CFG, meta('hello'), '', placeholders)).toBe('ExternalIP');
  });

  it('gives a cluster-local route svc.cluster.local URLs (route.go updateRouteStatusURL)', () => {
    expect(routeUrl(CFG, meta('hello', LOCAL))).toEqual({ url: 'http://hello.default.svc.cluster.local' });
    const traffic: { tag?: string; url?: string }[] = [{ tag: 'latest' }];
    setTagUrls(CFG, meta('hello', LOCAL), traffic);
    expect(traffic[0]!.url).toBe('http://latest-hello.default.svc.cluster.local');
  });
});

describe('which gateway serves which host (route/resources/ingress.go, networking pkg/ingress/ingress.go)', () => {
  it('expands a cluster-local host to its short forms (ExpandedHosts)', () => {
    expect(expandedHosts('hello.default.svc.cluster.local')).toEqual([
      'hello.default',
      'hello.default.svc',
      'hello.default.svc.cluster.local',
    ]);
  });

  it('gives every target a ClusterLocal rule, and a target not cluster-local an ExternalIP rule too', () => {
    expect(ingressHosts(CFG, meta('hello'), 'latest')).toEqual({
      external: ['latest-hello.default.example.com'],
      local: ['latest-hello.default', 'latest-hello.default.svc', 'latest-hello.default.svc.cluster.local'],
    });
    expect(ingressHosts(CFG, meta('hello', LOCAL), '')).toEqual({
      external: [],
      local: ['hello.default', 'hello.default.svc', 'hello.default.svc.cluster.local'],
    });
  });
});

/** The Service's and its Route's conditions of one type, as `status reason: message`. */
const cond = (obj: KObject, type: string) => {
  const c = condition(obj, type);
  return c && `${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`;
};
const statuses = (rs: { status: number }[]) => rs.map((r) => r.status);

describe('a host label over 63 characters fails the Route (route.go errorConfigMsg, domains.go)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ domainTemplate: '{{.Name}}-{{.Namespace}}.{{.Domain}}' });
  });
  afterAll(() => h?.close());

  it('a tag: AllTrafficAssigned False ErrorConfig, status.traffic cleared, the gateway serving as before', async () => {
    const name = 'dl-tag'; // host label "<tag>-dl-tag-default": 1 + 6 + 8 = 15 characters besides the tag
    await h.create(service(name, { traffic: [{ latestRevision: true, percent: 100, tag: 'stable' }] }));
    const before = await h.settled(name);
    expect(before.status.url).toBe(`http://${name}-default.example.com`);
    expect(before.status.traffic[0].url).toBe(`http://stable-${name}-default.example.com`);

    const tag = 'a'.repeat(49); // 49 + 15 = 64
    await h.mergePatch(name, {
      spec: {
        traffic: [
          { latestRevision: true, percent: 100, tag: 'stable' },
          { latestRevision: true, percent: 0, tag },
        ],
      },
    });
    const svc = await h.settled(name);
    const message =
      `domain name error: invalid domain name "${tag}-${name}-default.example.com": ` +
      `url: Invalid value: "${tag}-${name}-default": must be no more than 63 characters`;
    expect(cond(svc, 'Ready')).toBe(`False ErrorConfig: ${message}`);
    expect(cond(svc, 'RoutesReady')).toBe(`False ErrorConfig: ${message}`);
    const route = await h.get('routes', name);
    expect(route.status.observedGeneration).toBe(route.metadata.generation);
    expect(cond(route, 'AllTrafficAssigned')).toBe(`False ErrorConfig: ${message}`);
    // configureTraffic assigned GetRevisionTrafficTargets' nil to status.traffic before it returned the error;
    // the Service copies the Route's status fields. status.url was set before the tags were looked at.
    expect(route.status.traffic).toBeUndefined();
    expect(svc.status.traffic).toBeUndefined();
    expect(svc.status.url).toBe(`http://${name}-default.example.com`);
    // The ingress was not reconciled: the gateway serves what it served.
    expect(cond(route, 'IngressReady')).toBe(
      'Unknown IngressNotConfigured: Ingress has not yet been reconciled.',
    );
    const gw = h.emulator.gatewayUrl;
    expect(statuses(await sendRequests(gw, `${name}-default.example.com`, 2, 1))).toEqual([200, 200]);
    expect(statuses(await sendRequests(gw, `stable-${name}-default.example.com`, 2, 1))).toEqual([200, 200]);

    // One character shorter is a valid host.
    const ok = 'a'.repeat(48);
    await h.mergePatch(name, {
      spec: {
        traffic: [
          { latestRevision: true, percent: 100, tag: 'stable' },
          { latestRevision: true, percent: 0, tag: ok },
        ],
      },
    });
    const fixed = await h.settled(name);
    expect(cond(fixed, 'Ready')).toBe('True : ');
    expect(fixed.status.traffic.map((t: KObject) => t.url)).toEqual([
      `http://stable-${name}-default.example.com`,
      `http://${ok}-${name}-default.example.com`,
    ]);
    expect(statuses(await sendRequests(gw, `${ok}-${name}-default.example.com`, 2, 1))).toEqual([200, 200]);
  });

  it("the Service's own label (domain-template): no URL, no traffic, no hosts", async () => {
    const name = 'b'.repeat(56); // "<name>-default": 64 characters
    await h.create(service(name));
    // Failed from the first reconcile on, before its revision is even ready; wait for that too.
    const svc = await h.waitForService(name, (s) => s.status?.latestReadyRevisionName === `${name}-00001`);
    const message =
      `domain name error: invalid domain name "${name}-default.example.com": ` +
      `url: Invalid value: "${name}-default": must be no more than 63 characters`;
    expect(cond(svc, 'Ready')).toBe(`False ErrorConfig: ${message}`);
    expect(cond(svc, 'RoutesReady')).toBe(`False ErrorConfig: ${message}`);
    // updateRouteStatusURL failed, so status.url stays as it was (none) and nothing was routed.
    expect(svc.status.url).toBeUndefined();
    expect(svc.status.traffic).toBeUndefined();
    expect(h.emulator.gateway.route(`${name}-default.example.com`)).toBeUndefined();
    expect(h.emulator.localGateway.route(`${name}.default.svc.cluster.local`)).toBeUndefined();
  });

  it('a cluster-local Service of the same name is fine: its host ignores the domain-template', async () => {
    const name = 'c'.repeat(56);
    await h.create(service(name, { labels: LOCAL }));
    const svc = await h.settled(name);
    expect(cond(svc, 'Ready')).toBe('True : ');
    expect(svc.status.url).toBe(`http://${name}.default.svc.cluster.local`);
  });
});

describe('cluster-local visibility (visibility.go, route.go, resources/ingress.go)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  it('gives a labelled Service svc.cluster.local URLs, served by the local gateway only', async () => {
    const name = 'cl-svc';
    await h.create(
      service(name, { labels: LOCAL, traffic: [{ latestRevision: true, percent: 100, tag: 'latest' }] }),
    );
    const svc = await h.settled(name);
    expect(cond(svc, 'Ready')).toBe('True : ');
    expect(svc.status.url).toBe(`http://${name}.default.svc.cluster.local`);
    expect(svc.status.address).toEqual({ url: `http://${name}.default.svc.cluster.local` });
    expect(svc.status.traffic[0].url).toBe(`http://latest-${name}.default.svc.cluster.local`);
    // Its labels reach the Route, whose visibility they decide.
    expect((await h.get('routes', name)).metadata.labels[VISIBILITY_LABEL]).toBe('cluster-local');

    const { gatewayUrl, localGatewayUrl } = h.emulator;
    for (const host of [`${name}.default.svc.cluster.local`, `latest-${name}.default.svc.cluster.local`]) {
      expect(statuses(await sendRequests(localGatewayUrl, host, 2, 1))).toEqual([200, 200]);
      expect(statuses(await sendRequests(gatewayUrl, host, 2, 1))).toEqual([404, 404]);
    }
    // No ExternalIP rule: the domain's hosts are served by neither gateway.
    for (const host of [`${name}.default.example.com`, `latest-${name}.default.example.com`]) {
      expect(statuses(await sendRequests(gatewayUrl, host, 2, 1))).toEqual([404, 404]);
      expect(statuses(await sendRequests(localGatewayUrl, host, 2, 1))).toEqual([404, 404]);
    }
  });

  it('serves an ordinary Service on the external gateway, and its svc.cluster.local hosts on the local one only', async () => {
    const name = 'ext-svc';
    await h.create(service(name));
    const svc = await h.settled(name);
    expect(svc.status.url).toBe(`http://${name}.default.example.com`);
    const { gatewayUrl, localGatewayUrl } = h.emulator;
    expect(statuses(await sendRequests(gatewayUrl, `${name}.default.example.com`, 2, 1))).toEqual([200, 200]);
    expect(statuses(await sendRequests(localGatewayUrl, `${name}.default.example.com`, 2, 1))).toEqual([
      404, 404,
    ]);
    for (const host of [`${name}.default.svc.cluster.local`, `${name}.default.svc`, `${name}.default`]) {
      expect(statuses(await sendRequests(localGatewayUrl, host, 2, 1))).toEqual([200, 200]);
      expect(statuses(await sendRequests(gatewayUrl, host, 2, 1))).toEqual([404, 404]);
    }
  });

  it('moves a Service when it is labelled later (kubectl label ksvc ... visibility=cluster-local), and back', async () => {
    const name = 'relabel';
    await h.create(service(name));
    await h.settled(name);
    const { gatewayUrl, localGatewayUrl } = h.emulator;
    await h.mergePatch(name, { metadata: { labels: LOCAL } });
    const local = await h.waitForService(
      name,
      (s) => s.status?.url === `http://${name}.default.svc.cluster.local`,
    );
    expect(cond(local, 'Ready')).toBe('True : ');
    expect(statuses(await sendRequests(gatewayUrl, `${name}.default.example.com`, 2, 1))).toEqual([404, 404]);
    expect(statuses(await sendRequests(localGatewayUrl, `${name}.default.svc.cluster.local`, 2, 1))).toEqual([
      200, 200,
    ]);
    await h.mergePatch(name, { metadata: { labels: { [VISIBILITY_LABEL]: null } } });
    await h.waitForService(name, (s) => s.status?.url === `http://${name}.default.example.com`);
    expect(statuses(await sendRequests(gatewayUrl, `${name}.default.example.com`, 2, 1))).toEqual([200, 200]);
  });

  it('makes every Service cluster-local on the domain svc.cluster.local', async () => {
    const h2 = await startHarness({ domain: 'svc.cluster.local' });
    try {
      await h2.create(service('all-local'));
      const svc = await h2.settled('all-local');
      expect(svc.status.url).toBe('http://all-local.default.svc.cluster.local');
      const host = 'all-local.default.svc.cluster.local';
      expect(statuses(await sendRequests(h2.emulator.localGatewayUrl, host, 2, 1))).toEqual([200, 200]);
      expect(statuses(await sendRequests(h2.emulator.gatewayUrl, host, 2, 1))).toEqual([404, 404]);
    } finally {
      await h2.close();
    }
  });
});
