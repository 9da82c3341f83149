// Route hosts as Knative Serving makes them: the tag-template and domain-template, cluster-local visibility, the
// URLs in a Route's status, the hosts each gateway serves, and the check that fails a Route whose host is not a
// DNS name (a label over 63 characters). Follows, in knative/serving: pkg/reconciler/route/domains/domains.go,
// pkg/reconciler/route/visibility/visibility.go, pkg/reconciler/route/config/domain.go (LookupDomainForLabels),
// pkg/reconciler/route/route.go (updateRouteStatusURL, errorConfigMsg), pkg/reconciler/route/traffic/traffic.go
// (computeURL) and pkg/reconciler/route/resources/ingress.go (makeIngressSpec); in knative/networking:
// pkg/ingress/ingress.go (ExpandedHosts) and pkg/config/config.go (the default templates).

import { isDNS1123Subdomain } from './util.ts';

/** networking.knative.dev/visibility (knative/networking pkg/apis/networking/register.go). */
export const VISIBILITY_LABEL = 'networking.knative.dev/visibility';
/** The label's value that makes a Service or Route cluster-local (knative/serving pkg/apis/serving/register.go). */
export const VISIBILITY_CLUSTER_LOCAL = 'cluster-local';
export const DEFAULT_DOMAIN_TEMPLATE = '{{.Name}}.{{.Namespace}}.{{.Domain}}';
export const DEFAULT_TAG_TEMPLATE = '{{.Tag}}-{{.Name}}';
/** knative/pkg network.GetClusterDomainName's default. */
export const CLUSTER_DOMAIN = 'cluster.local';
/** The reason of AllTrafficAssigned when a host is not a DNS name (route.go's errorConfigMsg). */
export const ERROR_CONFIG = 'ErrorConfig';

export type Visibility = 'ExternalIP' | 'ClusterLocal';

/** What config-domain and config-network say about hosts. */
export interface DomainConfig {
  /** The domain of every route (config-domain with one entry and no selector). */
  domain: string;
  /** config-network `domain-template` (default `{{.Name}}.{{.Namespace}}.{{.Domain}}`). */
  domainTemplate?: string;
  /** config-network `tag-template` (default `{{.Tag}}-{{.Name}}`). */
  tagTemplate?: string;
}

/** The metadata of a Route that its hosts depend on. */
export interface RouteMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A host that is no DNS name: the Route's AllTrafficAssigned is False with this reason and message. */
export interface DomainError {
  status: 'False';
  reason: typeof ERROR_CONFIG;
  message: string;
}

/**
 * Go's text/template, as much of it as Knative's templates use: `{{.Field}}` and `{{index .Labels "key"}}` /
 * `{{index .Annotations "key"}}`. Anything else is refused when the emulator starts, as Knative refuses a
 * config-network it cannot parse.
 */
export function executeTemplate(template: string, data: Record<string, unknown>): string {
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, action: string) => {
    let m = /^\.(\w+)$/.exec(action);
    // A field the template's data has not (a struct in Go) fails to execute: "can't evaluate field".
    if (m && !(m[1]! in data))
      throw new Error(`template: can't evaluate field ${m[1]} in ${JSON.stringify(template)}`);
    if (m) return String(data[m[1]!] ?? '');
    m = /^index\s+\.(\w+)\s+"([^"]*)"$/.exec(action);
    if (m) return String((data[m[1]!] as Record<string, string> | undefined)?.[m[2]!] ?? '');
    throw new Error(`unsupported template action {{${action}}} in ${JSON.stringify(template)}`);
  });
}

/** Checks that a template is one the emulator can execute (throws otherwise). */
export function checkTemplates(cfg: DomainConfig): void {
  // knative/networking pkg/config/config.go checkDomainTemplate / checkTagTemplate: a trial run with the fields
  // each template gets (DomainTemplateValues; TagTemplateValues has only Name and Tag).
  const domain = { Name: 'n', Namespace: 'ns', Domain: 'example.com', Labels: {}, Annotations: {} };
  executeTemplate(cfg.domainTemplate ?? DEFAULT_DOMAIN_TEMPLATE, domain);
  executeTemplate(cfg.tagTemplate ?? DEFAULT_TAG_TEMPLATE, { Name: 'foo', Tag: 'v2' });
}

/** domains.go HostnameFromTemplate: the route's own name, or the tag-template's `<tag>-<name>` for a tag. */
export function hostnameFromTemplate(cfg: DomainConfig, name: string, tag: string): string {
  if (tag === '') return name;
  return executeTemplate(cfg.tagTemplate ?? DEFAULT_TAG_TEMPLATE, { Name: name, Tag: tag });
}

const isClusterLocalLabel = (labels: Record<string, string> | undefined) =>
  labels?.[VISIBILITY_LABEL] === VISIBILITY_CLUSTER_LOCAL;

/** config/domain.go LookupDomainForLabels: a cluster-local label takes `svc.<cluster domain>`. */
export function domainForLabels(cfg: DomainConfig, labels: Record<string, string> | undefined): string {
  return isClusterLocalLabel(labels) ? `svc.${CLUSTER_DOMAIN}` : cfg.domain;
}

/** visibility.go routeVisibility: a Route is cluster-local when its domain is `svc.<cluster domain>`. */
export function routeVisibility(cfg: DomainConfig, route: RouteMeta): Visibility {
  return domainForLabels(cfg, route.labels) === `svc.${CLUSTER_DOMAIN}` ? 'ClusterLocal' : 'ExternalIP';
}

/**
 * visibility.go GetVisibility for one traffic target name ('' for the route itself): the lower of the route's
 * visibility and that of the placeholder Kubernetes Service named after the target's host, which is cluster-local
 * when it carries the visibility label with any value (labels.go IsObjectLocalVisibility). The emulator has no
 * Kubernetes Services, so `placeholderLabels` is only given by tests.
 */
export function targetVisibility(
  cfg: DomainConfig,
  route: RouteMeta,
  tag: string,
  placeholderLabels?: (hostname: string) => Record<string, string> | undefined,
): Visibility {
  const placeholder = placeholderLabels?.(hostnameFromTemplate(cfg, route.name, tag));
  if (placeholder?.[VISIBILITY_LABEL]) return 'ClusterLocal';
  return routeVisibility(cfg, route);
}

/** Go's %q for the strings involved here (no quotes or control characters in a host). */
const quote = (s: string) => JSON.stringify(s);

/**
 * k8s.io/apimachinery validation.IsFullyQualifiedDomainName(field.NewPath("url"), host), rendered as
 * ToAggregate().Error(): undefined when the host is valid.
 */
export function fqdnError(host: string): string | undefined {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name === '') return 'url: Required value';
  const sub = isDNS1123Subdomain(name);
  if (sub.length) return `url: Invalid value: ${quote(name)}: ${sub.join(',')}`;
  const labels = name.split('.');
  if (labels.length < 2) {
    return `url: Invalid value: ${quote(name)}: should be a domain with at least two segments separated by dots`;
  }
  for (const label of labels) {
    const errs = dns1123LabelErrors(label);
    if (errs.length) return `url: Invalid value: ${quote(label)}: ${errs.join(',')}`;
  }
  return undefined;
}

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/** k8s.io/apimachinery IsDNS1123Label, with its messages. */
function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!new RegExp(`^${DNS1123_LABEL_FMT}$`).test(value)) {
    errs.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start " +
        "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
        `'${DNS1123_LABEL_FMT}')`,
    );
  }
  return errs;
}

/**
 * domains.go DomainNameFromTemplate: the full host for `hostname` (the route name, or a tag's hostname). A
 * cluster-local host ignores the configured domain-template and uses the default one with `svc.<cluster domain>`.
 */
export function domainNameFromTemplate(
  cfg: DomainConfig,
  route: RouteMeta,
  hostname: string,
  visibility: Visibility,
): { host: string } | { error: DomainError } {
  const labels = { ...(route.labels ?? {}) };
  if (visibility === 'ClusterLocal') labels[VISIBILITY_LABEL] = VISIBILITY_CLUSTER_LOCAL;
  else delete labels[VISIBILITY_LABEL];
  const template =
    visibility === 'ClusterLocal' ? DEFAULT_DOMAIN_TEMPLATE : (cfg.domainTemplate ?? DEFAULT_DOMAIN_TEMPLATE);
  const host = executeTemplate(template, {
    Name: hostname,
    Namespace: route.namespace,
    Domain: domainForLabels(cfg, labels),
    Annotations: route.annotations ?? {},
    Labels: labels,
  });
  const invalid = fqdnError(host);
  if (invalid) {
    return {
      error: {
        status: 'False',
        reason: ERROR_CONFIG,
        message: `domain name error: invalid domain name ${quote(host)}: ${invalid}`,
      },
    };
  }
  return { host };
}

/** route.go updateRouteStatusURL: the Route's status.url, `http://` (no TLS is emulated). */
export function routeUrl(cfg: DomainConfig, route: RouteMeta): { url: string } | { error: DomainError } {
  const d = domainNameFromTemplate(cfg, route, route.name, targetVisibility(cfg, route, ''));
  return 'error' in d ? d : { url: `http://${d.host}` };
}

/**
 * traffic.go GetRevisionTrafficTargets / computeURL: sets the URL of every tagged entry of the resolved traffic,
 * or returns the error of the first tag whose host is no DNS name (which fails them all).
 */
export function setTagUrls(
  cfg: DomainConfig,
  route: RouteMeta,
  traffic: { tag?: string; url?: string }[],
): DomainError | undefined {
  for (const t of traffic) {
    if (!t.tag) continue;
    const hostname = hostnameFromTemplate(cfg, route.name, t.tag);
    const d = domainNameFromTemplate(cfg, route, hostname, targetVisibility(cfg, route, t.tag));
    if ('error' in d) return d.error;
    t.url = `http://${d.host}`;
  }
  return undefined;
}

/** knative/networking ingress.ExpandedHosts: a cluster-local host, also without `.svc.<cluster>` and `.<cluster>`. */
export function expandedHosts(host: string): string[] {
  const out = new Set<string>();
  for (const suffix of ['', `.${CLUSTER_DOMAIN}`, `.svc.${CLUSTER_DOMAIN}`]) {
    if (suffix !== '' && !host.endsWith(suffix)) continue;
    const h = host.slice(0, host.length - suffix.length);
    if (isValidTopLevelDomain(h)) out.add(h);
  }
  return [...out].sort();
}

function isValidTopLevelDomain(domain: string): boolean {
  const tld = domain.split('.').at(-1) ?? '';
  return tld.length <= 63 && [...tld].some((c) => c === '-' || c > '9');
}

/**
 * resources/ingress.go makeIngressSpec for one traffic target name ('' for the route itself): every target has a
 * ClusterLocal rule (its `.svc.cluster.local` host, expanded), served by the cluster-local gateway; a target that
 * is not cluster-local also has an ExternalIP rule with its host on the domain, served by the external gateway.
 * Call it only after routeUrl and withTagUrls succeeded (the hosts are then valid).
 */
export function ingressHosts(
  cfg: DomainConfig,
  route: RouteMeta,
  tag: string,
): { external: string[]; local: string[] } {
  const hostname = hostnameFromTemplate(cfg, route.name, tag);
  const hostFor = (v: Visibility) => {
    const d = domainNameFromTemplate(cfg, route, hostname, v);
    return 'error' in d ? undefined : d.host;
  };
  const local = hostFor('ClusterLocal');
  const external = targetVisibility(cfg, route, tag) === 'ExternalIP' ? hostFor('ExternalIP') : undefined;
  return { external: external ? [external] : [], local: local ? expandedHosts(local) : [] };
}
