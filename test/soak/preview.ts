// A preview rollout, driven by comment commands on a pull request through the fake GitHub: `/canary deploy` (the
// pull request's head at 0% under tag pr-<number>, paused), then `/canary promote`, `/canary resume`, or nothing
// (the Service's next deploy replaces it).

import { issueCommentPayload } from '../support/events.ts';
import type { RunRecord, SoakContext } from './context.ts';
import type { RolloutPlan } from './plan.ts';
import { checkRuns, commandInputs, deployInputs, run, type Command } from './runs.ts';

/** The token the fake GitHub accepts; a maintainer comments. */
export const GITHUB_TOKEN = 'ghs_SOAKs0akS3cretT0ken000000000000000';
const ACTOR = 'Codertocat';

export async function previewRollout(ctx: SoakContext, plan: RolloutPlan): Promise<RunRecord[]> {
  const gh = ctx.github!;
  const { pr, sha, then } = plan.preview!;
  gh.roles.set(ACTOR, 'maintain');
  gh.pulls.set(pr, { headSha: sha });
  gh.commits.set(sha, { committerDate: '2020-01-01T00:00:00Z' });
  const env = { GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`, GITHUB_ACTOR: ACTOR };
  let k = 0;
  const comment = async (body: string, command: Command, inputs: Record<string, string>) => {
    const before = await ctx.watcher.get(plan.service);
    const payload = issueCommentPayload({
      body,
      login: ACTOR,
      issueNumber: pr,
      commentId: 100_000 + plan.index * 10 + k++,
      createdAt: new Date().toISOString(),
    });
    const rec = await run(ctx, {
      rollout: plan.index,
      service: plan.service,
      label: body,
      command,
      mode: plan.mode,
      // The comment names the command: `command` stays `auto`.
      inputs: { ...inputs, command: 'auto', 'github-token': GITHUB_TOKEN, progression: plan.mode },
      revision: plan.revisionName,
      image: plan.image,
      interrupt: k === 1 && plan.interrupted === 'deploy' ? plan.interrupt : undefined,
      event: { name: 'issue_comment', payload },
      env,
    });
    await checkRuns(ctx, plan.service, [rec], before);
    return rec;
  };
  const deploy: Record<string, string> = {
    ...deployInputs(ctx, plan),
    image: 'ghcr.io/example/app:{{ sha }}',
  };
  delete deploy['revision-name'];
  const expect = ctx.expectations.get(plan.service)!;
  (expect.previews ??= new Map()).set(`pr-${pr}`, plan.revisionName);
  const runs = [await comment('/canary deploy', 'deploy', deploy)];
  if (runs[0]!.facts.outputs.status !== 'paused' || then === 'leave') return runs;
  const follow = then === 'promote' ? 'promote' : 'resume';
  // Resumed, the rollout takes its steps (inline) or its first one (scheduled), as the deploy's inputs say.
  runs.push(
    await comment(`/canary ${follow}`, follow, { ...commandInputs(ctx, plan.service, follow), ...deploy }),
  );
  return runs;
}
