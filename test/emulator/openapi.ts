// OpenAPI documents for the serving.knative.dev/v1 kinds, enough for kubectl's client-side machinery:
// it reads them to learn that the server validates fields itself (`fieldValidation`) and which patch types
// a kind accepts (no strategic merge for custom resources, so `kubectl apply` sends a JSON merge patch).

import { API_VERSION, GROUP, VERSION } from './errors.ts';

const KINDS = [
  { kind: 'Service', plural: 'services' },
  { kind: 'Configuration', plural: 'configurations' },
  { kind: 'Revision', plural: 'revisions' },
  { kind: 'Route', plural: 'routes' },
];

const schemaName = (kind: string) => `dev.knative.serving.${VERSION}.${kind}`;
const gvk = (kind: string) => [{ group: GROUP, version: VERSION, kind }];

function kindSchema(kind: string, ref: (name: string) => string) {
  return {
    type: 'object',
    description: `${kind} of ${API_VERSION} (Knative Serving emulator).`,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta') },
      spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    'x-kubernetes-group-version-kind': gvk(kind),
  };
}

const objectMeta = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    name: { type: 'string' },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    resourceVersion: { type: 'string' },
  },
};

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];

function operations(kind: string, ref: string, v3: boolean) {
  const fieldValidation = {
    name: 'fieldValidation',
    in: 'query',
    description:
      'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
    ...(v3 ? { schema: { type: 'string', uniqueItems: true } } : { type: 'string', uniqueItems: true }),
  };
  const body = v3
    ? { requestBody: { content: { 'application/json': { schema: { $ref: ref } } }, required: true } }
    : { parameters: [{ name: 'body', in: 'body', required: true, schema: { $ref: ref } }] };
  const patchBody = v3
    ? {
        requestBody: {
          content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: { type: 'object' } }])),
          required: true,
        },
      }
    : {
        consumes: PATCH_TYPES,
        parameters: [{ name: 'body', in: 'body', required: true, schema: { type: 'object' } }],
      };
  const ok = v3
    ? { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } } }
    : { '200': { description: 'OK', schema: { $ref: ref } } };
  const op = (verb: string, extra: object) => ({
    operationId: `${verb}Namespaced${kind}`,
    'x-kubernetes-action': verb,
    'x-kubernetes-group-version-kind': { group: GROUP, version: VERSION, kind },
    responses: ok,
    ...extra,
  });
  const withParams = (o: { parameters?: object[] }) => ({
    ...o,
    parameters: [...(o.parameters ?? []), fieldValidation],
  });
  return {
    get: op('get', {}),
    put: op('put', withParams(body)),
    patch: op('patch', withParams(patchBody)),
    delete: op('delete', {}),
  };
}

function collectionOps(kind: string, ref: string, v3: boolean) {
  const body = v3
    ? { requestBody: { content: { 'application/json': { schema: { $ref: ref } } }, required: true } }
    : { parameters: [{ name: 'body', in: 'body', required: true, schema: { $ref: ref } }] };
  const fieldValidation = v3
    ? { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }
    : { name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true };
  return {
    post: {
      operationId: `createNamespaced${kind}`,
      'x-kubernetes-action': 'post',
      'x-kubernetes-group-version-kind': { group: GROUP, version: VERSION, kind },
      ...body,
      parameters: [...((body as { parameters?: object[] }).parameters ?? []), fieldValidation],
      responses: { '201': { description: 'Created' } },
    },
  };
}

export function openapiV2() {
  const ref = (n: string) => `#/definitions/${n}`;
  const paths: Record<string, object> = {};
  const definitions: Record<string, object> = {
    'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': objectMeta,
  };
  for (const { kind, plural } of KINDS) {
    definitions[schemaName(kind)] = kindSchema(kind, ref);
    const base = `/apis/${GROUP}/${VERSION}/namespaces/{namespace}/${plural}`;
    paths[base] = collectionOps(kind, ref(schemaName(kind)), false);
    paths[`${base}/{name}`] = operations(kind, ref(schemaName(kind)), false);
  }
  return {
    swagger: '2.0',
    info: { title: 'Knative Serving emulator', version: 'v1.32.0' },
    paths,
    definitions,
  };
}

export function openapiV3Index() {
  return {
    paths: {
      [`apis/${GROUP}/${VERSION}`]: {
        serverRelativeURL: `/openapi/v3/apis/${GROUP}/${VERSION}?hash=EMULATOR0001`,
      },
    },
  };
}

export function openapiV3Group() {
  const ref = (n: string) => `#/components/schemas/${n}`;
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': objectMeta };
  for (const { kind, plural } of KINDS) {
    schemas[schemaName(kind)] = kindSchema(kind, ref);
    const base = `/apis/${GROUP}/${VERSION}/namespaces/{namespace}/${plural}`;
    paths[base] = collectionOps(kind, ref(schemaName(kind)), true);
    paths[`${base}/{name}`] = operations(kind, ref(schemaName(kind)), true);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Knative Serving emulator', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}
