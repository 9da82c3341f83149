// The kubeconfig the action talks to the cluster with: the input's contents, or KUBECONFIG, ~/.kube/config or
// in-cluster credentials when it is empty. Each way a newcomer gets it wrong is answered with what to do.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where a kubeconfig may come from when the input is empty. */
export interface KubeconfigSources {
  env: NodeJS.ProcessEnv;
  exists: (path: string) => boolean;
  home: string;
}

const defaultSources = (): KubeconfigSources => ({ env: process.env, exists: existsSync, home: homedir() });
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** A one-line input that is a path, not a kubeconfig's YAML. */
const looksLikePath = (t: string) =>
  /^(~|\.{0,2}\/|[A-Za-z]:\\)/.test(t) || /(^|\/)[\w.-]*config[\w.-]*$/.test(t);

/** A one-line input that is a kubeconfig, base64-encoded. */
function looksBase64(t: string): boolean {
  if (t.length < 40 || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return false;
  return /apiVersion|clusters:|current-context/.test(Buffer.from(t, 'base64').toString('utf8'));
}

/**
 * Loads the kubeconfig: the input's contents, else KUBECONFIG, ~/.kube/config or in-cluster credentials (a runner
 * in the cluster); then the context. Each way a newcomer gets it wrong is named, with what to do.
 */
export function loadKubeConfig(
  contents?: string,
  context?: string,
  sources: KubeconfigSources = defaultSources(),
): KubeConfig {
  const kc = new KubeConfig();
  const text = contents?.trim();
  if (text) {
    if (!text.includes('\n') && looksBase64(text)) {
      throw new Error(
        "Input 'kubeconfig': is base64-encoded; give the kubeconfig's YAML itself (decode it with `base64 -d` " +
          'before storing the secret)',
      );
    }
    if (!text.includes('\n') && !text.includes(': ') && looksLikePath(text)) {
      throw new Error(
        `Input 'kubeconfig': "${text}" is a file path, not a kubeconfig: give the file's contents (a secret, ` +
          "such as ${{ secrets.KUBECONFIG }}), or set KUBECONFIG to the path in the step's env and leave " +
          "'kubeconfig' empty",
      );
    }
    try {
      kc.loadFromString(text);
    } catch (e) {
      // The message of a YAML error may quote the file, so neither it nor the error (as cause) is passed on.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`Input 'kubeconfig': is not a valid kubeconfig (${(e as Error).name})`);
    }
    const names = kc.getContexts().map((c) => c.name);
    const current = kc.getCurrentContext();
    if (!context && !current) {
      throw new Error(
        "Input 'kubeconfig': has no current-context: set current-context in it, or give 'context' " +
          `(it has: ${names.join(', ') || 'none'})`,
      );
    }
    if (!context && !names.includes(current)) {
      throw new Error(
        `Input 'kubeconfig': its current-context "${current}" is not one of its contexts ` +
          `(it has: ${names.join(', ') || 'none'}): fix current-context, or give 'context'`,
      );
    }
  } else {
    const { env, exists, home } = sources;
    const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST) && exists(SERVICE_ACCOUNT_TOKEN);
    if (!env.KUBECONFIG && !exists(join(home, '.kube', 'config')) && !inCluster) {
      throw new Error(
        "Input 'kubeconfig': is empty, and there is no KUBECONFIG, ~/.kube/config or in-cluster service " +
          "account to use instead: give the kubeconfig's contents, from a secret (secrets are empty on pull " +
          'requests from forks)',
      );
    }
    kc.loadFromDefault();
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new Error(
        `Input 'context': no context "${context}" in the kubeconfig (it has: ${names.join(', ') || 'none'})`,
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      `Input 'kubeconfig': its context "${kc.getCurrentContext()}" names no cluster the kubeconfig defines: fix ` +
        "the context's cluster, or give 'context'",
    );
  }
  return kc;
}
