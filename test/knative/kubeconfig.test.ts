// Where the kubeconfig comes from, and the answer to each way of getting it wrong (src/knative/kubeconfig.ts).

import { describe, expect, it } from 'vitest';
import { loadKubeConfig, type KubeconfigSources } from '../../src/knative/kubeconfig.ts';

const KC = `apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: 'https://c1.example.com:6443'}}]
users: [{name: u1, user: {token: t0ken}}]
contexts:
  - {name: one, context: {cluster: c1, user: u1}}
  - {name: broken, context: {cluster: nowhere, user: u1}}
current-context: one
`;

const none: KubeconfigSources = { env: {}, exists: () => false, home: '/home/runner' };

describe('loadKubeConfig', () => {
  it("takes the input's contents and its current-context, or the context given", () => {
    expect(loadKubeConfig(KC).getCurrentCluster()?.server).toBe('https://c1.example.com:6443');
    expect(() => loadKubeConfig(KC, 'broken')).toThrow(
      `Input 'kubeconfig': its context "broken" names no cluster the kubeconfig defines: fix the context's ` +
        "cluster, or give 'context'",
    );
  });

  it('with an empty input, falls back on KUBECONFIG, ~/.kube/config or in-cluster credentials, and says when there are none', () => {
    expect(() => loadKubeConfig('', undefined, none)).toThrow(
      "Input 'kubeconfig': is empty, and there is no KUBECONFIG, ~/.kube/config or in-cluster service account",
    );
    // Each source alone is enough to go on to client-node's loadFromDefault (which reads it).
    const seen: string[] = [];
    const exists = (p: string) => (seen.push(p), false);
    expect(() => loadKubeConfig('', undefined, { ...none, exists })).toThrow();
    expect(seen).toEqual(['/home/runner/.kube/config']);
    const inCluster = (p: string) => p === '/var/run/secrets/kubernetes.io/serviceaccount/token';
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1' };
    // In a cluster, the service account is used (here client-node finds no token file and throws its own error).
    expect(() => loadKubeConfig('', undefined, { ...none, env, exists: inCluster })).not.toThrow(
      /is empty, and there is no/,
    );
    // A service account token without the service host is not a cluster's pod.
    expect(() => loadKubeConfig('', undefined, { ...none, exists: inCluster })).toThrow(/is empty/);
  });

  it('tells a path and a base64 kubeconfig from its contents', () => {
    for (const path of ['/home/runner/.kube/config', '~/.kube/config', './kubeconfig.yaml', 'kubeconfig'])
      expect(() => loadKubeConfig(path)).toThrow(
        `Input 'kubeconfig': "${path}" is a file path, not a kubeconfig`,
      );
    expect(() => loadKubeConfig(Buffer.from(KC).toString('base64'))).toThrow(
      "Input 'kubeconfig': is base64-encoded; give the kubeconfig's YAML itself",
    );
  });

  it('names a missing or unknown current-context, and the contexts there are', () => {
    expect(() => loadKubeConfig(KC.replace('current-context: one', ''))).toThrow(
      "Input 'kubeconfig': has no current-context: set current-context in it, or give 'context' (it has: one, broken)",
    );
    expect(() => loadKubeConfig(KC.replace('current-context: one', 'current-context: two'))).toThrow(
      `Input 'kubeconfig': its current-context "two" is not one of its contexts (it has: one, broken)`,
    );
    // A context given overrides a current-context that is missing.
    expect(loadKubeConfig(KC.replace('current-context: one', ''), 'one').getCurrentContext()).toBe('one');
  });
});
