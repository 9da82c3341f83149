// Reads and validates the action's inputs. Every problem is reported with the input's name and what was expected,
// before anything talks to the cluster. This is the inputs' public API; the section parsers are in src/inputs/.

import { parseChecks, parseJudging, parseProbes } from './inputs/health.ts';
import { parseRollout } from './inputs/rollout.ts';
import { parseCommand, parseTarget } from './inputs/target.ts';
import { parseEnv, parseRelease, parseTags } from './inputs/release.ts';
import type { GetInput, Inputs, ParseContext } from './inputs/types.ts';
import { parseBoolean } from './inputs/values.ts';

export {
  COMMANDS,
  type Command,
  type GetInput,
  type GitHubInputs,
  type Inputs,
  type ParseContext,
  type Progression,
} from './inputs/types.ts';
export { parseGitHubInputs } from './inputs/github.ts';
export { parseEnv, readManifest } from './inputs/release.ts';
export { parseSmokeTests } from './inputs/health.ts';
export { parseSteps } from './inputs/rollout.ts';
export { parseBoolean, parseDurationInput } from './inputs/values.ts';

/**
 * All the inputs of a run. The sections are parsed in this order, each input checked at the point it was checked
 * before the split into sections (env after the health limits), so that of several bad inputs the same one is
 * reported first.
 */
export function parseInputs(get: GetInput, ctx: ParseContext): Inputs {
  const command = parseCommand(get, ctx);
  const target = parseTarget(get, ctx, command);
  const release = parseRelease(get, ctx, command, target.service);
  const tags = parseTags(get, ctx, command, target);
  const rollout = parseRollout(get);
  const probes = parseProbes(get);
  const judging = parseJudging(get);
  const env = parseEnv(get('env'));
  const checks = parseChecks(get);
  return {
    command,
    service: target.service,
    services: target.services,
    percent: target.percent,
    progression: target.progression,
    environment: target.environment,
    namespace: target.namespace,
    image: release.image,
    manifestTemplate: release.manifestTemplate,
    manifestPath: release.manifestPath,
    env,
    revisionName: release.revisionName,
    revisionNameGiven: release.revisionNameGiven,
    tag: tags.tag,
    stableTag: tags.stableTag,
    steps: rollout.steps,
    intervalMs: rollout.intervalMs,
    timeoutMs: rollout.timeoutMs,
    ...probes,
    ...judging,
    analysis: checks.analysis,
    webhooks: checks.webhooks,
    kubeconfig: target.kubeconfig,
    context: target.context,
    dryRun: parseBoolean('dry-run', get('dry-run'), false),
    acceptSplit: parseBoolean('accept-split', get('accept-split'), false),
  };
}
