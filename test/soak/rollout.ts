// One planned rollout on its Service: the deploy run (inline or scheduled), the scheduled advance runs with the
// Service's clock moved on (some racing each other), what follows a killed run, each checked as it ends.

import type { KObject } from '../emulator/util.ts';
import type { RunRecord, SoakContext } from './context.ts';
import { profileRules } from './faults.ts';
import { previewRollout } from './preview.ts';
import { stateOf } from './invariants.ts';
import { killed, unwritten } from './outcome.ts';
import type { RolloutPlan } from './plan.ts';
import { rngFor } from './random.ts';
import { checkRuns, commandInputs, deployInputs, run, type Command } from './runs.ts';

export interface RolloutResult {
  index: number;
  service: string;
  kind: RolloutPlan['kind'];
  mode: RolloutPlan['mode'];
  /** Where the rollout ended: its phase, or `not-started` when no state of it was written. */
  outcome: string;
  runs: number[];
  ms: number;
}

const isActive = (svc: KObject) => {
  const phase = stateOf(svc).state?.phase;
  return phase === 'deploying' || phase === 'stepping';
};

/** A command run after a killed one, or at the end of the soak. */
export async function commandRun(
  ctx: SoakContext,
  rollout: number,
  service: string,
  command: Command,
  label: string,
): Promise<RunRecord> {
  const before = await ctx.watcher.get(service);
  const rec = await run(ctx, {
    rollout,
    service,
    label,
    command,
    mode: 'inline',
    inputs: commandInputs(ctx, service, command),
  });
  await checkRuns(ctx, service, [rec], before);
  return rec;
}

async function afterKill(
  ctx: SoakContext,
  plan: RolloutPlan,
  svc: KObject,
  /** The run said its rollback could not be written, and to run `command: rollback`: the user does. */
  told = false,
): Promise<RunRecord | undefined> {
  if (!isActive(svc)) return undefined;
  if (told) return commandRun(ctx, plan.index, plan.service, 'rollback', 'rollback as told');
  if (plan.afterKill === 'next') return undefined;
  const stepping = stateOf(svc).state?.phase === 'stepping';
  // The user promotes only a healthy candidate that passed its smoke test (a stepping rollout): a failing one
  // promoted by hand would be a failing stable revision for every later rollout. Anything else is rolled back.
  const healthy = ['healthy', 'name-taken', 'name-race'].includes(plan.kind);
  const command = plan.afterKill === 'promote' && stepping && healthy ? 'promote' : 'rollback';
  return commandRun(ctx, plan.index, plan.service, command, `${command} after kill`);
}

/** The clock of an advance group: `when` after the current step began (its dwell is 10 minutes), never back. */
function moveClock(ctx: SoakContext, svc: KObject, when: 'early' | 'due'): void {
  const s = stateOf(svc).state;
  const name = svc.metadata.name as string;
  const from = Date.parse(s?.stepStartedAt ?? s?.startedAt ?? new Date().toISOString());
  const target = from + (when === 'due' ? 11 : 5) * 60_000;
  ctx.skew.set(name, Math.max(ctx.skew.get(name) ?? 0, target - Date.now()));
}

/** The advance runs of a scheduled rollout, group by group. */
async function advances(ctx: SoakContext, plan: RolloutPlan): Promise<RunRecord[]> {
  const all: RunRecord[] = [];
  for (const [g, group] of plan.advances.entries()) {
    const before = await ctx.watcher.get(plan.service);
    if (!isActive(before) && g < plan.advances.length - 1) continue;
    moveClock(ctx, before, group.when);
    const racers = group.offsetsMs.map(async (offset, racer) => {
      await new Promise((r) => setTimeout(r, offset));
      const target = plan.interrupted;
      const interrupted = target !== 'deploy' && target.group === g && target.racer === racer;
      return run(ctx, {
        rollout: plan.index,
        service: plan.service,
        label: `advance ${g}.${racer}`,
        command: 'advance',
        mode: 'scheduled',
        inputs: commandInputs(ctx, plan.service, 'advance'),
        interrupt: interrupted ? plan.interrupt : undefined,
        racing: group.offsetsMs.length > 1,
      });
    });
    const recs = await Promise.all(racers);
    await checkRuns(ctx, plan.service, recs, before);
    all.push(...recs);
  }
  return all;
}

export async function executeRollout(ctx: SoakContext, plan: RolloutPlan): Promise<RolloutResult> {
  const began = Date.now();
  const { service } = plan;
  ctx.current.set(service, plan.index);
  const stuck = `default/${plan.revisionName}`;
  ctx.rolloutFaults.set(service, profileRules(plan.faults, rngFor(ctx.seed, 'faults', plan.index)));
  if (plan.kind === 'stuck') ctx.faults.setStuck(stuck, true);
  const runs: RunRecord[] = [];
  const before = await ctx.watcher.get(service);
  try {
    if (plan.kind === 'preview') {
      runs.push(...(await previewRollout(ctx, plan)));
      return result(ctx, plan, before, runs, began);
    }
    const race = plan.kind === 'name-race';
    const deploy = (image: string, label: string, interrupt = plan.interrupted === 'deploy') =>
      run(ctx, {
        rollout: plan.index,
        service,
        label,
        command: 'deploy',
        mode: plan.mode,
        inputs: { ...deployInputs(ctx, plan), image },
        revision: plan.revisionName,
        image,
        interrupt: interrupt ? plan.interrupt : undefined,
        racing: race,
      });
    // A name-race: a second deploy of the same revision-name, another image, while the first is under way.
    const deploys = [deploy(plan.image, 'deploy')];
    if (race)
      deploys.push(
        new Promise((r) => setTimeout(r, plan.raceOffsetMs)).then(() =>
          deploy(`${plan.image}b`, 'deploy (same name)', false),
        ),
      );
    const recs = await Promise.all(deploys);
    runs.push(...recs);
    const first = recs[0]!;
    const after = await checkRuns(ctx, service, recs, before);
    if (plan.mode === 'scheduled') runs.push(...(await advances(ctx, plan)));
    else if (killed(first.facts) || unwritten(first.facts)) {
      // A run that said its rollback could not be written leaves it to the next run, as a kill does.
      const next = await afterKill(ctx, plan, after, unwritten(first.facts));
      if (next) runs.push(next);
    }
  } finally {
    ctx.rolloutFaults.delete(service);
    if (plan.kind === 'stuck') ctx.faults.setStuck(stuck, false);
  }
  return result(ctx, plan, before, runs, began);
}

async function result(
  ctx: SoakContext,
  plan: RolloutPlan,
  before: KObject,
  runs: RunRecord[],
  began: number,
): Promise<RolloutResult> {
  const s = stateOf(await ctx.watcher.get(plan.service)).state;
  const was = stateOf(before).state;
  const ours = s?.candidate === plan.revisionName && s.startedAt !== was?.startedAt;
  return {
    index: plan.index,
    service: plan.service,
    kind: plan.kind,
    mode: plan.mode,
    outcome: ours ? `${s.phase}${s.paused ? ' (paused)' : ''}` : 'not-started',
    runs: runs.map((r) => r.id),
    ms: Date.now() - began,
  };
}
