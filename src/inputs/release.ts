// The release section of the inputs: what the new revision is (image or manifest, env), its name, and the tags
// of the candidate and the stable revision.

import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { InputError } from '../errors.ts';
import { checkTagLabel } from '../knative/hosts.ts';
import type { Template } from '../knative/types.ts';
import type { Target } from './target.ts';
import type { Command, GetInput, Inputs, ParseContext } from './types.ts';
import { dnsLabel } from './values.ts';

/** The new revision: its image (`{{ sha }}` filled in) or the manifest's template, and its name. */
export function parseRelease(
  get: GetInput,
  ctx: ParseContext,
  command: Command,
  service: string,
): Pick<Inputs, 'image' | 'manifestTemplate' | 'manifestPath' | 'revisionName' | 'revisionNameGiven'> {
  // `{{ sha }}` in the image is the commit deployed (a pull request's head for a comment command).
  const imageText = get('image');
  if (/\{\{(?!\s*sha\s*\}\})/.test(imageText)) {
    throw new InputError('image', `"${imageText}" has a placeholder other than {{ sha }}`);
  }
  if (/\{\{\s*sha\s*\}\}/.test(imageText) && !/^[0-9a-f]{40}$/i.test(ctx.sha)) {
    throw new InputError('image', 'uses {{ sha }}, but the commit sha (GITHUB_SHA) is not available');
  }
  const image = imageText.replace(/\{\{\s*sha\s*\}\}/g, ctx.sha.toLowerCase()) || undefined;
  const manifestPath = get('manifest') || undefined;
  if (image && manifestPath) {
    throw new InputError('image', "give either 'image' or 'manifest', not both");
  }
  if (command === 'deploy' && !image && !manifestPath) {
    throw new InputError(
      'image',
      "is required for command 'deploy' (or give 'manifest': a Knative Service YAML file)",
    );
  }
  if (image !== undefined && /\s/.test(image)) {
    throw new InputError('image', `"${image}" is not an image reference (it contains whitespace)`);
  }
  const manifestTemplate = manifestPath ? readManifest(manifestPath, service, ctx.readFile) : undefined;

  const revisionText = ctx.revision ?? get('revision-name');
  const revisionNameGiven = revisionText !== '';
  let revisionName = revisionText;
  if (!revisionNameGiven && command === 'deploy') {
    // The default names the revision after the commit: `<service>-<first 7 characters of the sha>`.
    const sha = ctx.sha.slice(0, 7).toLowerCase();
    if (!/^[0-9a-f]{7}$/.test(sha)) {
      throw new InputError('revision-name', 'is required when the commit sha (GITHUB_SHA) is not available');
    }
    revisionName = `${service}-${sha}`;
    if (revisionName.length > 63) {
      throw new InputError(
        'revision-name',
        `the default "${revisionName}" is ${revisionName.length} characters, over Kubernetes' 63: give a shorter revision-name`,
      );
    }
  }
  if (revisionName !== '') {
    dnsLabel('revision-name', revisionName, 'revision name');
    if (!revisionName.startsWith(`${service}-`)) {
      throw new InputError(
        'revision-name',
        `"${revisionName}" must start with the service name and a dash: "${service}-"`,
      );
    }
  }
  return { image, manifestTemplate, manifestPath, revisionName, revisionNameGiven };
}

/** The candidate's tag and the stable revision's; each one's host label must fit. */
export function parseTags(
  get: GetInput,
  ctx: ParseContext,
  command: Command,
  target: Pick<Target, 'service' | 'namespace' | 'serviceInput'>,
): Pick<Inputs, 'tag' | 'stableTag'> {
  const { service, namespace } = target;
  const tag = dnsLabel('tag', ctx.tag ?? (get('tag') || 'latest'), 'tag');
  // The runner fills in action.yml's default (`stable`) when the input is absent, so an empty value is the
  // user's explicit `stable-tag: ''`: no stable tag.
  const stableTag = get('stable-tag');
  if (stableTag !== '') dnsLabel('stable-tag', stableTag, 'tag');
  if (stableTag !== '' && stableTag === tag) {
    throw new InputError('stable-tag', `"${stableTag}" is also the candidate 'tag': they must differ`);
  }
  // Each tag's host label, `<tag>-<service>`, must fit in 63 characters, or Knative fails the whole Route.
  // A close writes no tag: it only removes one.
  if (service && command !== 'status' && command !== 'help' && command !== 'close') {
    const opts = { serviceInput: target.serviceInput };
    checkTagLabel('tag', tag, service, namespace, { ...opts, preview: ctx.tag !== undefined });
    if (stableTag !== '') checkTagLabel('stable-tag', stableTag, service, namespace, opts);
  }
  return { tag, stableTag };
}

/** Env names Knative sets itself (pkg/apis/serving/k8s_validation.go reservedEnvVars). */
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);

/** Multiline `KEY=value` lines; blank lines and `#` comments are skipped. */
export function parseEnv(value: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const [i, raw] of value.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) {
      throw new InputError('env', `line ${i + 1} "${line}" is not KEY=value with a valid variable name`);
    }
    if (RESERVED_ENV.has(name)) {
      throw new InputError(
        'env',
        `line ${i + 1}: ${name} is set by Knative in every revision (it reserves ${[...RESERVED_ENV].join(', ')}), ` +
          'and its webhook refuses a template that sets it: use another name',
      );
    }
    const existing = out.findIndex((e) => e.name === name);
    const entry = { name, value: line.slice(eq + 1).trim() };
    if (existing >= 0) out[existing] = entry;
    else out.push(entry);
  }
  return out;
}

/** Reads a Knative Service manifest and returns its template; `traffic` in it is ignored. */
export function readManifest(
  path: string,
  service: string,
  read = (p: string) => readFileSync(p, 'utf8'),
): Template {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // A relative path is read from the step's working directory, the workspace: a file of the repository is
      // there only once actions/checkout has run.
      throw new InputError(
        'manifest',
        `no file "${path}"${isAbsolute(path) ? '' : ` (relative to ${process.cwd()}, the workspace)`}: check the ` +
          'path, and that actions/checkout runs before this step',
      );
    }
    throw new InputError('manifest', `cannot read "${path}": ${code ?? (e as Error).message}`);
  }
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  const errors = docs.flatMap((d) => d.errors);
  if (errors.length)
    throw new InputError('manifest', `"${path}" is not valid YAML: ${errors[0]!.message.split('\n')[0]}`);
  const objects = docs.map((d) => d.toJS() as Record<string, unknown>);
  const isService = (o: Record<string, unknown>) =>
    o && typeof o === 'object' && o.kind === 'Service' && o.apiVersion === 'serving.knative.dev/v1';
  const services = objects.filter(isService);
  if (services.length !== 1) {
    const found =
      objects
        .map((o) =>
          o && typeof o === 'object' ? `${String(o.apiVersion)} ${String(o.kind)}` : `a ${typeof o}`,
        )
        .join(', ') || 'nothing';
    throw new InputError(
      'manifest',
      `"${path}" must hold exactly one Knative Service (apiVersion serving.knative.dev/v1, kind Service); found ${found}`,
    );
  }
  const svc = services[0]!;
  const name = (svc.metadata as { name?: string } | undefined)?.name;
  if (name !== undefined && name !== service) {
    throw new InputError(
      'manifest',
      `"${path}" describes Service "${name}" but input 'service' is "${service}"`,
    );
  }
  const template = (svc.spec as { template?: Template } | undefined)?.template;
  const containers = template?.spec?.containers;
  if (
    !Array.isArray(containers) ||
    containers.length === 0 ||
    !containers.every((c) => typeof c?.image === 'string')
  ) {
    throw new InputError('manifest', `"${path}" needs spec.template.spec.containers with an image`);
  }
  return template!;
}
