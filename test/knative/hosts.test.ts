// Which gateway the action sends a route URL's requests through, and when a cluster-local Service is refused.
// Cluster-local visibility: knative/serving pkg/reconciler/route/visibility/visibility.go and
// route/config/domain.go (the label networking.knative.dev/visibility=cluster-local, or the svc.cluster.local
// domain); which gateway serves which host: route/resources/ingress.go.

import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { checkGateways, gatewayFor, isClusterLocal, isClusterLocalHost } from '../../src/knative/hosts.ts';
import type { Service } from '../../src/knative/types.ts';

const svc = (url: string, labels?: Record<string, string>): Service => ({
  metadata: { name: 'hello', labels },
  spec: { template: { spec: { containers: [] } } },
  status: { url },
});
const EXTERNAL = svc('http://hello.default.example.com');
const LABELLED = svc('http://hello.default.svc.cluster.local', {
  'networking.knative.dev/visibility': 'cluster-local',
});
const ON_LOCAL_DOMAIN = svc('http://hello.default.svc.cluster.local');
const gateway = new URL('http://203.0.113.10');
const localGateway = new URL('http://10.0.0.20');

describe('cluster-local Services', () => {
  it('are known by their label or their URL', () => {
    expect(isClusterLocal(EXTERNAL)).toBe(false);
    expect(isClusterLocal(LABELLED)).toBe(true);
    expect(isClusterLocal(ON_LOCAL_DOMAIN)).toBe(true);
    expect(isClusterLocalHost('latest-hello.default.svc.cluster.local')).toBe(true);
    expect(isClusterLocalHost('hello.default.example.com')).toBe(false);
  });

  it('go through the local gateway, others through the external one', () => {
    const both = { gateway, localGateway };
    expect(gatewayFor('http://latest-hello.default.svc.cluster.local', LABELLED, both)).toBe(localGateway);
    expect(gatewayFor('http://latest-hello.default.example.com', EXTERNAL, both)).toBe(gateway);
    // A tag made cluster-local on its own shows it in its URL.
    expect(gatewayFor('http://latest-hello.default.svc.cluster.local', EXTERNAL, both)).toBe(localGateway);
  });

  it('are requested directly with neither gateway (a runner inside the cluster)', () => {
    expect(gatewayFor('http://latest-hello.default.svc.cluster.local', LABELLED, {})).toBeUndefined();
    expect(() => checkGateways(LABELLED, {})).not.toThrow();
    // Only the local gateway: external URLs are requested directly.
    expect(gatewayFor('http://latest-hello.default.example.com', EXTERNAL, { localGateway })).toBeUndefined();
  });

  it("are refused with only the external gateway, naming 'local-gateway' and how to find it", () => {
    for (const s of [LABELLED, ON_LOCAL_DOMAIN]) {
      let err: unknown;
      try {
        checkGateways(s, { gateway });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).input).toBe('local-gateway');
      expect((err as InputError).message).toContain('kubectl -n istio-system get svc knative-local-gateway');
      expect((err as InputError).message).toContain('kubectl -n kourier-system get svc kourier-internal');
    }
    expect(() => checkGateways(LABELLED, { gateway })).toThrow(
      /Service "hello" is cluster-local \(it is labelled networking.knative.dev\/visibility=cluster-local\)/,
    );
    expect(() => checkGateways(ON_LOCAL_DOMAIN, { gateway })).toThrow(
      /is cluster-local \(its URL is http:\/\/hello.default.svc.cluster.local\)/,
    );
    expect(() => checkGateways(EXTERNAL, { gateway })).not.toThrow();
    expect(() => gatewayFor('http://latest-hello.default.svc.cluster.local', EXTERNAL, { gateway })).toThrow(
      InputError,
    );
  });
});
