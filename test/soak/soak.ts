// The soak: the emulator in-process, one Service per worker (each with its users' entries and annotations), the
// watcher following them all, the planned rollouts run worker by worker, and a cleanup that leaves every
// Service settled on a finished rollout, checked once more.

import { service as manifest, startHarness } from '../emulator/helpers.ts';
import type { KObject } from '../emulator/util.ts';
import { SoakContext } from './context.ts';
import type { Expectations } from './invariants.ts';
import { stateOf } from './invariants.ts';
import { planSoak, type CandidateKind, type RolloutPlan, type ServicePlan } from './plan.ts';
import { commandRun, executeRollout, type RolloutResult } from './rollout.ts';
import { GITHUB_TOKEN } from './preview.ts';
import { checkRuns } from './runs.ts';
import { startFakeGitHub } from '../support/github.ts';

export interface SoakOptions {
  seed: number;
  rollouts: number;
  concurrency: number;
  /** No rollout starts after this many seconds; those under way finish. */
  budgetS: number;
  /** Only candidates of these kinds. */
  kinds?: CandidateKind[];
  /** Only these rollouts of the plan (each on its Service, fresh): to run a violation's rollout again. */
  only?: number[];
  log?: (line: string) => void;
}

export interface SoakResult {
  ctx: SoakContext;
  results: RolloutResult[];
  skipped: number[];
  errors: { rollout: number; message: string }[];
  durationMs: number;
}

async function createService(ctx: SoakContext, p: ServicePlan): Promise<void> {
  const svc: KObject = manifest(p.name, {
    image: 'ghcr.io/example/app:v0',
    revisionName: p.initialRevision,
    labels: Object.keys(p.labels).length ? p.labels : undefined,
  });
  if (Object.keys(p.annotations).length) svc.metadata.annotations = { ...p.annotations };
  if (Object.keys(p.templateAnnotations).length)
    svc.spec.template.metadata.annotations = { ...p.templateAnnotations };
  await ctx.h.create(svc);
  await ctx.h.settled(p.name);
  if (p.userEntries.length) {
    await ctx.h.mergePatch(p.name, {
      spec: { traffic: [{ latestRevision: true, percent: 100 }, ...p.userEntries] },
    });
    await ctx.h.settled(p.name);
  }
}

/** Leaves the Service on a finished rollout: an active one is rolled back (with no faults), and checked. */
async function cleanup(ctx: SoakContext, name: string, index: number): Promise<void> {
  const svc = await ctx.watcher.get(name);
  const phase = stateOf(svc).state?.phase;
  if (phase === 'deploying' || phase === 'stepping')
    await commandRun(ctx, index, name, 'rollback', 'cleanup');
  else {
    // The last word on the Service: settled on revisions Knative routes. No run to check, only the Service.
    await checkRuns(ctx, name, [], svc);
  }
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const began = Date.now();
  const plan = planSoak(opts.seed, opts.rollouts, opts.concurrency, opts.kinds);
  const h = await startHarness({ seed: opts.seed, restartBackoffMs: 1000 });
  const expectations = new Map<string, Expectations>();
  const ctx = new SoakContext(plan, h, expectations);
  ctx.github = await startFakeGitHub({ token: GITHUB_TOKEN });
  const results: RolloutResult[] = [];
  const skipped: number[] = [];
  const errors: SoakResult['errors'] = [];
  try {
    await ctx.watcher.start();
    for (const p of plan.services) {
      await createService(ctx, p);
      expectations.set(p.name, p);
    }
    h.emulator.api.requests.length = 0;
    const deadline = began + opts.budgetS * 1000;
    const worker = async (k: number) => {
      const mine = plan.rollouts.filter(
        (r) => r.index % plan.services.length === k && (!opts.only || opts.only.includes(r.index)),
      );
      let last = -1;
      for (const r of mine) {
        if (Date.now() > deadline) {
          skipped.push(r.index);
          continue;
        }
        last = r.index;
        await one(r);
      }
      await cleanup(ctx, plan.services[k]!.name, last).catch((e: Error) =>
        errors.push({
          rollout: last,
          message: `cleanup of ${plan.services[k]!.name}: ${e.stack ?? e.message}`,
        }),
      );
    };
    const one = async (r: RolloutPlan) => {
      try {
        const res = await executeRollout(ctx, r);
        results.push(res);
        const found = ctx.violations.filter((v) => v.rollout === r.index).length;
        log(
          `#${r.index} ${r.service} ${r.kind} ${r.mode} faults:${r.faults}` +
            `${r.interrupt ? ` ${r.interrupt.kind}${r.interrupt.during ? `+${r.interrupt.during}` : ''}@${r.interrupt.on}${r.interrupted === 'deploy' ? '' : ` of advance ${r.interrupted.group}`}` : ''}` +
            ` → ${res.outcome} in ${(res.ms / 1000).toFixed(1)}s${found ? `, ${found} violation(s)` : ''}`,
        );
      } catch (e) {
        errors.push({ rollout: r.index, message: (e as Error).stack ?? String(e) });
        log(`#${r.index} ${r.service}: soak error: ${(e as Error).message}`);
      }
    };
    await Promise.all(plan.services.map((_, k) => worker(k)));
  } finally {
    ctx.watcher.stop();
    await ctx.github.close();
    await h.close();
  }
  return { ctx, results, skipped, errors, durationMs: Date.now() - began };
}
