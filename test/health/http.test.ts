// What a probe or smoke test request says when it cannot reach the Service (src/health/http.ts).

import { Agent } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { send } from '../../src/health/http.ts';

/** An agent whose DNS answers every name with EAI_AGAIN, as a runner's resolver does for a cluster's domain. */
const unresolved = new Agent({
  connect: {
    lookup: (_host, _opts, cb) =>
      cb(Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }), '', 4),
  },
});
afterAll(() => unresolved.close());

it("names the host that did not resolve, and suggests 'gateway' when none is given", async () => {
  const r = await send({ url: 'http://latest-hello.default.example.com' }, { path: '/' }, unresolved);
  expect(r.status).toBe(0);
  expect(r.error).toBe(
    "latest-hello.default.example.com did not resolve (EAI_AGAIN): the runner cannot resolve the Service's " +
      "domain; give 'gateway' (your ingress gateway's address), and requests go there with this host in the " +
      'Host header',
  );
});

it('names the gateway host alone when a gateway is given', async () => {
  const r = await send(
    { url: 'http://latest-hello.default.example.com', gateway: new URL('http://gateway.example.internal') },
    { path: '/' },
    unresolved,
  );
  expect(r.error).toBe('gateway.example.internal did not resolve (EAI_AGAIN)');
});
