// The I/O shell for one Service: reads it, then hands it to the command. Each command is a file of its own under
// commands/; they share the run's context (context.ts), the one writer of traffic (traffic.ts), the driver that
// carries a rollout from decision to decision (driver.ts), the dwell (dwell.ts), the webhook gates (gates.ts),
// recovery (recovery.ts) and the outcome (outcome.ts).

import { ConcurrentChange, InputError } from '../errors.ts';
import type { KnativeClient } from '../knative/client.ts';
import { checkGateways } from '../knative/hosts.ts';
import type { Inputs } from '../inputs.ts';
import type { RunReport } from '../report/report.ts';
import { advance } from './commands/advance.ts';
import { close } from './commands/close.ts';
import { deploy } from './commands/deploy.ts';
import { pause } from './commands/pause.ts';
import { promote } from './commands/promote.ts';
import { resume } from './commands/resume.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { status } from './commands/status.ts';
import { RunContext, type ShellOptions } from './context.ts';
import { finish } from './outcome.ts';
import { cancelled, stopped } from './recovery.ts';
import type { Service } from '../knative/types.ts';

export type { RunOptions, ShellOptions } from './context.ts';

export class Shell {
  private readonly ctx: RunContext;

  constructor(inputs: Inputs, client: KnativeClient, report: RunReport, opts: ShellOptions) {
    this.ctx = new RunContext(inputs, client, report, opts);
  }

  async execute(): Promise<void> {
    const { ctx } = this;
    const { inputs } = ctx;
    const svc = await ctx.client.getService(inputs.service);
    if (!svc) {
      throw new InputError(
        'service',
        `Service "${inputs.service}" not found in namespace "${inputs.namespace}": create it first (kubectl apply) or check 'namespace'`,
      );
    }
    ctx.found = svc;
    ctx.service = svc;
    // A command that may smoke-test or probe must be able to reach the Service's hosts: known before any write.
    if (['deploy', 'promote', 'resume', 'advance'].includes(inputs.command)) checkGateways(svc, inputs);
    try {
      await this.command(svc);
    } catch (e) {
      // Another run's change to the rollout, wherever it was met (a wait, a write), is told once, here.
      if (e instanceof ConcurrentChange && !ctx.report.status) throw await stopped(ctx, e);
      // A cancel that reached a command outside a driven rollout (a promotion, a pause, the deploy's template
      // write) is settled the same way: promoted, rolled back, or left where it was found, and said.
      if (!ctx.signal?.aborted || ctx.report.status || ctx.cancelSettled || e instanceof InputError) throw e;
      await cancelled(ctx);
    }
  }

  private async command(svc: Service): Promise<void> {
    const { ctx } = this;
    const { inputs } = ctx;
    switch (inputs.command) {
      case 'deploy':
        return deploy(ctx, svc);
      case 'promote':
        return promote(ctx, svc);
      case 'rollback':
        return rollbackCommand(ctx, svc);
      case 'status':
        return status(ctx, svc);
      case 'advance':
        return advance(ctx, svc);
      case 'pause':
        return pause(ctx, svc);
      case 'resume':
        return resume(ctx, svc);
      case 'close':
        return close(ctx, svc);
      case 'help':
        return;
    }
  }

  finish(succeeded: boolean): Promise<void> {
    return finish(this.ctx, succeeded);
  }
}
