// Which values the log must hide: credentials, wherever they come from (request headers of smoke tests, webhooks
// and Prometheus, URL userinfo), and nothing else, since a masked common word (`acme`) would hide every mention of
// it in the log. Pure.

/** Header names that carry a credential: authorization schemes, cookies, and API keys or tokens by any name. */
const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|passw|api-?key|auth|session|signature|credential/i;

/** The values to mask of one request's headers: a credential's whole value, and its part after the scheme. */
export function secretHeaderValues(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADER.test(name) || !value.trim()) continue;
    out.push(value);
    const credential = /^\s*\w+\s+(\S.*)$/.exec(value)?.[1];
    if (credential && credential !== value) out.push(credential);
  }
  return out;
}

/** The password of a URL's userinfo, decoded as the request sends it; the user name is not a secret. */
export function secretUrlValues(url: URL | undefined): string[] {
  return url?.password ? [decodeURIComponent(url.password)] : [];
}
