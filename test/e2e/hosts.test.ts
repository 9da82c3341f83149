// End to end: route hosts as Knative makes them. A cluster-local Service (labelled
// networking.knative.dev/visibility=cluster-local: knative/serving pkg/reconciler/route/visibility/visibility.go)
// is served only by the cluster-local gateway (route/resources/ingress.go), so the action smoke-tests and probes
// it there; with only the external gateway it is refused before anything is written. A tag whose host label
// `<tag>-<service>` is over 63 characters would fail the Route (route/domains/domains.go): refused up front.

import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, type Fixture } from './fixture.ts';
import { errorLines } from './runner.ts';

const LOCAL = { 'networking.knative.dev/visibility': 'cluster-local' };
const image = 'ghcr.io/example/hello:v2';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** The Host of every request each gateway got from now on. */
function gatewayHosts(fx: Fixture): { external: string[]; local: string[] } {
  const seen = { external: [] as string[], local: [] as string[] };
  fx.h.emulator.gateway.server.on('request', (req: IncomingMessage) =>
    seen.external.push(req.headers.host ?? ''),
  );
  fx.h.emulator.localGateway.server.on('request', (req: IncomingMessage) =>
    seen.local.push(req.headers.host ?? ''),
  );
  return seen;
}

describe('a cluster-local Service', () => {
  it('is smoke-tested and probed through the local gateway, and promoted', async () => {
    f = await fixture({ labels: LOCAL });
    expect((await f.svc()).status.url).toBe('http://hello.default.svc.cluster.local');
    const seen = gatewayHosts(f);
    const r = await f.run({
      image,
      'revision-name': 'hello-v2',
      steps: '50',
      'local-gateway': f.h.emulator.localGatewayUrl,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('promoted');
    expect(r.outputs.url).toBe('http://hello.default.svc.cluster.local');
    expect(r.outputs['tag-url']).toBe('http://latest-hello.default.svc.cluster.local');
    expect(await f.percents()).toEqual({ 'hello-v2': 100 });
    const via = `via ${f.h.emulator.localGatewayUrl}`;
    expect(r.stdout).toContain(`Smoke test http://latest-hello.default.svc.cluster.local ${via}`);
    expect(r.stdout).toContain(
      'Probing http://latest-hello.default.svc.cluster.local and http://stable-hello.default.svc.cluster.local ' +
        `${via} at 25 req/s each`,
    );
    expect(r.stdout).toMatch(/✔ 50% healthy after .*\n {2}probes: candidate \d+ req, 0 err.*stable \d+ req/);
    // Every request went to the local gateway, for the two tag hosts; none to the external one.
    expect(seen.external).toEqual([]);
    expect(new Set(seen.local)).toEqual(
      new Set(['latest-hello.default.svc.cluster.local', 'stable-hello.default.svc.cluster.local']),
    );
    expect(seen.local.length).toBeGreaterThan(10);
  });

  it("is refused before anything is written when only 'gateway' is given", async () => {
    f = await fixture({ labels: LOCAL });
    const seen = gatewayHosts(f);
    const r = await f.run({ image, 'revision-name': 'hello-v2' });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const message =
      'Input \'local-gateway\': Service "hello" is cluster-local (it is labelled ' +
      'networking.knative.dev/visibility=cluster-local): only the cluster-local gateway serves its hosts, ' +
      `not 'gateway' (${f.h.emulator.gatewayUrl}). Give local-gateway, the address of the cluster-local ` +
      'gateway: `kubectl -n istio-system get svc knative-local-gateway` (Istio) or ' +
      '`kubectl -n kourier-system get svc kourier-internal` (Kourier); or, on a runner inside the cluster, ' +
      'leave both gateway and local-gateway empty to request its URLs directly';
    expect(errorLines(r.stdout)).toEqual([`::error::${message}`]);
    expect(r.summary).toContain(message);
    // It read the Service to know it is cluster-local, and wrote nothing.
    expect(f.h.emulator.api.requests.map((q) => q.method)).toEqual(['GET']);
    expect(f.writes()).toEqual([]);
    expect(await f.revisions()).toEqual(['hello-00001']);
    expect(seen).toEqual({ external: [], local: [] });
  });
});

describe('a tag too long for its host', () => {
  it('is refused up front, naming the input, with nothing sent to the cluster', async () => {
    f = await fixture();
    const tag = 'a'.repeat(58); // "<tag>-hello" is 64 characters
    const r = await f.run({ image, tag });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const label = `${tag}-hello`;
    const message =
      `Input 'tag': "${tag}" is too long for Service "hello": the host label "${label}" is 64 characters, over ` +
      `the 63 Knative allows (the tag's URL is http://${label}.default.<domain>; Knative would fail the whole ` +
      'Route with ErrorConfig). Give a tag of at most 57 characters';
    expect(errorLines(r.stdout)).toEqual([`::error::${message}`]);
    expect(r.summary).toContain(message);
    expect(r.outputs).toEqual({});
    expect(f.h.emulator.api.requests).toEqual([]);
    expect(await f.revisions()).toEqual(['hello-00001']);
  });
});
