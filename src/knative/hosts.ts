// The hosts Knative gives a Service and its tags, as far as the action needs them: how long a host label may be,
// whether the Service is cluster-local, and which gateway serves a URL.
//
// Knative (pkg/reconciler/route/domains/domains.go) names a tag's host with the tag-template, `{{.Tag}}-{{.Name}}`
// by default, and fails the whole Route (ErrorConfig) when a label of a host is over 63 characters. A Service
// labelled `networking.knative.dev/visibility: cluster-local` (or any Service on the domain `svc.cluster.local`)
// gets `*.svc.cluster.local` URLs, which only the cluster-local gateway serves (knative-local-gateway,
// kourier-internal), never the external one.

import { InputError } from '../errors.ts';
import type { Service } from './types.ts';

export const VISIBILITY_LABEL = 'networking.knative.dev/visibility';
export const CLUSTER_LOCAL = 'cluster-local';
/** The longest label of a DNS name, and so of a Knative host. */
export const MAX_LABEL = 63;

const HOW_TO_FIND_LOCAL_GATEWAY =
  'the address of the cluster-local gateway: `kubectl -n istio-system get svc knative-local-gateway` (Istio) ' +
  'or `kubectl -n kourier-system get svc kourier-internal` (Kourier)';

/** The host label of a tag under the default tag-template: `<tag>-<service>`. */
export const tagLabel = (tag: string, service: string) => `${tag}-${service}`;

/**
 * Refuses a tag whose host label would be over 63 characters: Knative would fail the Route with ErrorConfig, after
 * the template was written. `input` is the input to fix (`tag`, `stable-tag`); for a pull request's preview tag
 * `pr-<n>`, and for a Service name too long for any tag, it is `serviceInput`.
 */
export function checkTagLabel(
  input: string,
  tag: string,
  service: string,
  namespace: string,
  opts: { serviceInput: string; preview?: boolean },
): void {
  const label = tagLabel(tag, service);
  if (label.length <= MAX_LABEL) return;
  const detail =
    `the host label "${label}" is ${label.length} characters, over the ${MAX_LABEL} Knative allows (the tag's ` +
    `URL is http://${label}.${namespace}.<domain>; Knative would fail the whole Route with ErrorConfig)`;
  if (opts.preview) {
    throw new InputError(
      opts.serviceInput,
      `the preview tag "${tag}" is too long for Service "${service}": ${detail}. Previews of this pull request ` +
        `need a Service name of at most ${MAX_LABEL - tag.length - 1} characters`,
    );
  }
  const fits = MAX_LABEL - service.length - 1;
  if (fits < 1) {
    throw new InputError(
      opts.serviceInput,
      `"${service}" is too long to be tagged: with the tag "${tag}" ${detail}. The action tags revisions, so ` +
        `the Service name may have at most ${MAX_LABEL - 2} characters`,
    );
  }
  throw new InputError(
    input,
    `"${tag}" is too long for Service "${service}": ${detail}. Give a tag of at most ${fits} characters`,
  );
}

/** Whether a host is one of the cluster-local forms (`<name>.<namespace>.svc.cluster.local`). */
export function isClusterLocalHost(host: string): boolean {
  return /\.svc\.cluster\.local\.?$/i.test(host);
}

/** Whether the Service is cluster-local: by its visibility label, or by the host of its URL. */
export function isClusterLocal(svc: Service): boolean {
  if (svc.metadata.labels?.[VISIBILITY_LABEL] === CLUSTER_LOCAL) return true;
  const url = svc.status?.url;
  return url !== undefined && isClusterLocalHost(new URL(url).hostname);
}

export interface Gateways {
  /** The external ingress gateway. */
  gateway?: URL;
  /** The cluster-local gateway. */
  localGateway?: URL;
}

/** Why a cluster-local Service cannot be reached with only the external gateway, and what to do. */
function externalOnly(svc: Service, gateway: URL, what: string): InputError {
  const why =
    svc.metadata.labels?.[VISIBILITY_LABEL] === CLUSTER_LOCAL
      ? `it is labelled ${VISIBILITY_LABEL}=${CLUSTER_LOCAL}`
      : `its URL is ${what}`;
  return new InputError(
    'local-gateway',
    `Service "${svc.metadata.name}" is cluster-local (${why}): only the cluster-local gateway serves its hosts, ` +
      `not 'gateway' (${gateway.origin}). Give local-gateway, ${HOW_TO_FIND_LOCAL_GATEWAY}; or, on a runner ` +
      `inside the cluster, leave both gateway and local-gateway empty to request its URLs directly`,
  );
}

/**
 * Refuses, before anything is written, to probe a cluster-local Service through the external gateway alone.
 * With neither gateway given the URLs are requested directly (a runner inside the cluster resolves them).
 */
export function checkGateways(svc: Service, gateways: Gateways): void {
  if (isClusterLocal(svc) && gateways.gateway && !gateways.localGateway) {
    throw externalOnly(svc, gateways.gateway, svc.status?.url ?? '');
  }
}

/**
 * The gateway to send a route URL's requests through: the cluster-local gateway for a cluster-local URL (or any
 * URL of a cluster-local Service), the external one otherwise; undefined: request the URL directly.
 */
export function gatewayFor(url: string, svc: Service, gateways: Gateways): URL | undefined {
  const local =
    isClusterLocalHost(new URL(url).hostname) || svc.metadata.labels?.[VISIBILITY_LABEL] === CLUSTER_LOCAL;
  if (!local) return gateways.gateway;
  if (gateways.localGateway) return gateways.localGateway;
  // A tag made cluster-local on its own (its placeholder Service labelled) is only seen in its URL.
  if (gateways.gateway) throw externalOnly(svc, gateways.gateway, url);
  return undefined;
}
