// The ingress gateway: the percent split (a seeded random source, so the run is repeatable), tag hosts, 0% targets, unknown hosts, the
// queue-proxy metrics it records, and tag-header routing on and off.

import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRequests, service, startHarness, type Harness } from './helpers.ts';
import { LATENCY_BUCKETS_MS } from './metrics.ts';
import type { KObject } from './util.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const select = (samples: Sample[], name: string, match: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
const total = (samples: Sample[], name: string, match: Record<string, string>) =>
  select(samples, name, match).reduce((n, s) => n + s.value, 0);

const countBy = (rs: { revision: string }[]) => {
  const m = new Map<string, number>();
  for (const r of rs) m.set(r.revision, (m.get(r.revision) ?? 0) + 1);
  return m;
};

/** `n` sequential requests with extra headers; the revision and status of each. */
async function requestWith(
  gatewayUrl: string,
  host: string,
  headers: Record<string, string>,
  n: number,
): Promise<{ revision: string; status: number }[]> {
  const dispatcher = new Agent({ connections: 1 });
  const out: { revision: string; status: number }[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const res = await request(gatewayUrl, { headers: { host, ...headers }, dispatcher });
      const text = await res.body.text();
      let revision = '';
      try {
        revision = JSON.parse(text).revision ?? '';
      } catch {
        // not the built-in app's JSON
      }
      out.push({ revision, status: res.statusCode });
    }
  } finally {
    await dispatcher.close();
  }
  return out;
}

/** Creates `name` with revisions `${name}-${suffix}` for each suffix (traffic pinned to the first), then `traffic`. */
async function withRevisions(
  h: Harness,
  name: string,
  suffixes: string[],
  traffic: KObject[],
): Promise<KObject> {
  const rev = (s: string) => `${name}-${s}`;
  await h.create(service(name, { revisionName: rev(suffixes[0]) }));
  await h.settled(name);
  for (const [i, s] of suffixes.slice(1).entries()) {
    const spec = service(name, {
      revisionName: rev(s),
      image: `ghcr.io/example/hello:v${i + 2}`,
      traffic: [{ revisionName: rev(suffixes[0]), percent: 100 }],
    }).spec;
    await h.mergePatch(name, { spec });
    const svc = await h.settled(name);
    expect(svc.status.latestReadyRevisionName).toBe(rev(s));
  }
  await h.mergePatch(name, { spec: { traffic } });
  const svc = await h.settled(name);
  expect(svc.status.conditions.find((c: KObject) => c.type === 'Ready')?.status).toBe('True');
  return svc;
}

describe('gateway: split, tags and metrics (tag-header routing off, the default)', () => {
  const NAME = 'gw-split';
  const HOST = `${NAME}.default.example.com`;
  const A = `${NAME}-a`; // 80%, tag primary
  const B = `${NAME}-b`; // 20%, tag secondary
  const C = `${NAME}-c`; // 0%, tag canary
  const D = `${NAME}-d`; // 0%, untagged
  const N = 2000;
  let h: Harness;
  /** Every request the tests sent to this service, for the metrics check. */
  const served: { revision: string; status: number; host: string }[] = [];
  const send = async (host: string, n: number, concurrency?: number) => {
    const rs = await sendRequests(h.emulator.gatewayUrl, host, n, concurrency);
    served.push(...rs.map((r) => ({ ...r, host })));
    return rs;
  };

  beforeAll(async () => {
    // The split draws from the injected random source; a fixed seed keeps the test deterministic while the
    // assertion stays statistical.
    h = await startHarness({ seed: 20261128, metrics: 'opencensus' });
    const svc = await withRevisions(
      h,
      NAME,
      ['a', 'b', 'c', 'd'],
      [
        { revisionName: A, percent: 80, tag: 'primary' },
        { revisionName: B, percent: 20, tag: 'secondary' },
        { revisionName: C, percent: 0, tag: 'canary' },
        { revisionName: D, percent: 0 },
      ],
    );
    expect(svc.status.traffic.map((t: KObject) => [t.revisionName, t.percent, t.tag])).toEqual([
      [A, 80, 'primary'],
      [B, 20, 'secondary'],
      [C, 0, 'canary'],
      [D, 0, undefined],
    ]);
  });
  afterAll(() => h?.close());

  it(`splits ${N} requests 80/20 within the binomial 99.9% interval, and 0% targets get none`, async () => {
    const rs = await send(HOST, N, 16);
    expect(rs).toHaveLength(N);
    expect(rs.filter((r) => r.status !== 200)).toEqual([]);
    const counts = countBy(rs);
    const half = 3.2905 * Math.sqrt((0.8 * 0.2) / N); // same width for p = 0.8 and p = 0.2
    const shareA = (counts.get(A) ?? 0) / N;
    const shareB = (counts.get(B) ?? 0) / N;
    expect(shareA).toBeGreaterThanOrEqual(0.8 - half);
    expect(shareA).toBeLessThanOrEqual(0.8 + half);
    expect(shareB).toBeGreaterThanOrEqual(0.2 - half);
    expect(shareB).toBeLessThanOrEqual(0.2 + half);
    // The 0% targets, tagged or not, get none of the service host's requests.
    expect(counts.get(C) ?? 0).toBe(0);
    expect(counts.get(D) ?? 0).toBe(0);
    expect((counts.get(A) ?? 0) + (counts.get(B) ?? 0)).toBe(N);
  });

  it('sends every request on a tag host to its revision, including a tag at 0%', async () => {
    for (const [tag, rev] of [
      ['primary', A],
      ['secondary', B],
      ['canary', C],
    ]) {
      const rs = await send(`${tag}-${HOST}`, 50, 4);
      expect(rs.map((r) => `${r.status} ${r.revision}`)).toEqual(Array(50).fill(`200 ${rev}`));
    }
    // The cluster-local forms of a tag host route the same way, through the cluster-local gateway only: they are
    // the hosts of the target's ClusterLocal ingress rule (knative/serving pkg/reconciler/route/resources/
    // ingress.go makeIngressSpec, expanded by knative/networking pkg/ingress/ingress.go ExpandedHosts).
    for (const host of [
      `canary-${NAME}.default.svc.cluster.local`,
      `canary-${NAME}.default.svc`,
      `canary-${NAME}.default`,
    ]) {
      const local = await sendRequests(h.emulator.localGatewayUrl, host, 5, 1);
      served.push(...local.map((r) => ({ ...r, host })));
      expect(local.map((r) => `${r.status} ${r.revision}`)).toEqual(Array(5).fill(`200 ${C}`));
      expect((await send(host, 2, 1)).map((r) => r.status)).toEqual([404, 404]);
    }
    // And the local gateway does not serve the external hosts (the ExternalIP rules).
    const external = await sendRequests(h.emulator.localGatewayUrl, `canary-${HOST}`, 2, 1);
    expect(external.map((r) => r.status)).toEqual([404, 404]);
  });

  it('answers 404 for a host it does not know', async () => {
    for (const host of ['nope.default.example.com', `${NAME}.other.example.com`, `d-${HOST}`]) {
      const rs = await sendRequests(h.emulator.gatewayUrl, host, 3, 1);
      expect(rs.map((r) => r.status)).toEqual([404, 404, 404]);
    }
  });

  it('ignores the Knative-Serving-Tag header when tag-header routing is off', async () => {
    const rs = await requestWith(h.emulator.gatewayUrl, HOST, { 'Knative-Serving-Tag': 'canary' }, 100);
    served.push(...rs.map((r) => ({ ...r, host: HOST })));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    const counts = countBy(rs);
    expect(counts.get(C) ?? 0).toBe(0);
    expect((counts.get(A) ?? 0) + (counts.get(B) ?? 0)).toBe(100);
  });

  it('counts what it served in revision_request_count, per revision and response code', async () => {
    const samples = parseMetrics(await (await fetch(h.emulator.metricsUrl)).text());
    for (const rev of [A, B, C, D]) {
      const want = served.filter((r) => r.revision === rev && r.status === 200).length;
      const match = { namespace_name: 'default', service_name: NAME, revision_name: rev };
      expect(total(samples, 'revision_request_count', { ...match, response_code: '200' }), rev).toBe(want);
      expect(total(samples, 'revision_request_count', { ...match, response_code_class: '2xx' }), rev).toBe(
        want,
      );
      expect(total(samples, 'revision_app_request_count', { ...match, response_code: '200' }), rev).toBe(
        want,
      );
      // Nothing else was served, so there is no other response code.
      expect(total(samples, 'revision_request_count', match), rev).toBe(want);
      for (const s of select(samples, 'revision_request_count', match)) {
        expect(s.labels).toMatchObject({ configuration_name: NAME, container_name: 'queue-proxy' });
      }
    }
    // D got nothing at all: no series.
    expect(select(samples, 'revision_request_count', { revision_name: D })).toEqual([]);
  });

  it("records revision_request_latencies with Knative's buckets", async () => {
    const samples = parseMetrics(await (await fetch(h.emulator.metricsUrl)).text());
    const buckets = select(samples, 'revision_request_latencies_bucket', {
      revision_name: A,
      response_code: '200',
    });
    expect(buckets.length).toBeGreaterThan(0);
    // One series per route tag; each has the buckets 5 ... 100000 ms and +Inf, cumulative, +Inf = _count.
    const series = new Map<string, Sample[]>();
    for (const b of buckets) {
      const key = JSON.stringify({ ...b.labels, le: undefined });
      series.set(key, [...(series.get(key) ?? []), b]);
    }
    const expected = [
      '5',
      '10',
      '20',
      '40',
      '60',
      '80',
      '100',
      '150',
      '200',
      '250',
      '300',
      '350',
      '400',
      '450',
      '500',
      '600',
      '700',
      '800',
      '900',
      '1000',
      '2000',
      '5000',
      '10000',
      '20000',
      '50000',
      '100000',
      '+Inf',
    ];
    expect(LATENCY_BUCKETS_MS.map(String)).toEqual(expected.slice(0, -1));
    for (const [key, bs] of series) {
      expect(bs.map((b) => b.labels.le)).toEqual(expected);
      const values = bs.map((b) => b.value);
      expect(values).toEqual([...values].sort((x, y) => x - y));
      const labels = JSON.parse(key);
      const count = total(samples, 'revision_request_latencies_count', labels);
      expect(values.at(-1)).toBe(count);
      expect(total(samples, 'revision_request_latencies_sum', labels)).toBeGreaterThan(0);
    }
    const all = total(samples, 'revision_request_latencies_count', { revision_name: A });
    expect(all).toBe(served.filter((r) => r.revision === A).length);
  });

  it('labels every request route_tag="DISABLED" while tag-header routing is off, as queue-proxy does', async () => {
    // Knative's ingress adds the Knative-Serving-Tag / Knative-Serving-Default-Route headers that queue-proxy
    // reads for route_tag only when tag-header-based-routing is Enabled; without them it records "DISABLED"
    // (knative/serving pkg/queue GetRouteTagNameFromRequest; pkg/reconciler/route/resources/ingress.go).
    const samples = parseMetrics(await (await fetch(h.emulator.metricsUrl)).text());
    const tags = new Set(
      select(samples, 'revision_request_count', { service_name: NAME }).map((s) => s.labels.route_tag),
    );
    expect([...tags]).toEqual(['DISABLED']);
  });
});

describe('gateway: tag-header routing on', () => {
  const NAME = 'gw-header';
  const HOST = `${NAME}.default.example.com`;
  const CUR = `${NAME}-cur`; // 100%, tag current
  const PRE = `${NAME}-pre`; // 0%, tag preview
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ tagHeaderRouting: true, metrics: 'opencensus' });
    await withRevisions(
      h,
      NAME,
      ['cur', 'pre'],
      [
        { revisionName: CUR, percent: 100, tag: 'current' },
        { revisionName: PRE, percent: 0, tag: 'preview' },
      ],
    );
  });
  afterAll(() => h?.close());

  it("routes the service host by the Knative-Serving-Tag header to that tag's revision", async () => {
    const preview = await requestWith(h.emulator.gatewayUrl, HOST, { 'Knative-Serving-Tag': 'preview' }, 30);
    expect(preview.map((r) => `${r.status} ${r.revision}`)).toEqual(Array(30).fill(`200 ${PRE}`));
    const current = await requestWith(h.emulator.gatewayUrl, HOST, { 'Knative-Serving-Tag': 'current' }, 10);
    expect(current.map((r) => r.revision)).toEqual(Array(10).fill(CUR));
    // Without the header, the split: the 0% preview gets nothing.
    const plain = await sendRequests(h.emulator.gatewayUrl, HOST, 30, 4);
    expect(plain.map((r) => r.revision)).toEqual(Array(30).fill(CUR));
    // Tag hosts still work.
    const tagHost = await sendRequests(h.emulator.gatewayUrl, `preview-${HOST}`, 10, 2);
    expect(tagHost.map((r) => r.revision)).toEqual(Array(10).fill(PRE));
  });

  it('sets route_tag to the tag for tag-host and tag-header requests, DEFAULT for the service host', async () => {
    const samples = parseMetrics(await (await fetch(h.emulator.metricsUrl)).text());
    const count = (revision: string, routeTag: string) =>
      total(samples, 'revision_request_count', {
        revision_name: revision,
        route_tag: routeTag,
        response_code: '200',
      });
    // 30 by header + 10 on the tag host.
    expect(count(PRE, 'preview')).toBe(40);
    // 10 by the header "current"; 30 plain on the service host.
    expect(count(CUR, 'current')).toBe(10);
    expect(count(CUR, 'DEFAULT')).toBe(30);
  });

  it('routes a tag header that matches no tag by the split, with route_tag="UNDEFINED"', async () => {
    // A tag that does not exist falls through to the split...
    const unknown = await requestWith(h.emulator.gatewayUrl, HOST, { 'Knative-Serving-Tag': 'nosuch' }, 10);
    expect(unknown.map((r) => `${r.status} ${r.revision}`)).toEqual(Array(10).fill(`200 ${CUR}`));
    // ...and queue-proxy sees a request that took the default route (Knative-Serving-Default-Route: true)
    // while carrying a tag header.
    const samples = parseMetrics(await (await fetch(h.emulator.metricsUrl)).text());
    expect(
      total(samples, 'revision_request_count', {
        revision_name: CUR,
        route_tag: 'UNDEFINED',
        response_code: '200',
      }),
    ).toBe(10);
  });
});
