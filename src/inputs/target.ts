// The target section of the inputs: the command, the Services it acts on and how (progression, percent,
// environment), the namespace, and the cluster's credentials.

import { InputError } from '../errors.ts';
import { COMMANDS, type Command, type GetInput, type Inputs, type ParseContext } from './types.ts';
import { dnsLabel } from './values.ts';

/** The command: the event's (a comment command), else the `command` input; `auto` deploys. */
export function parseCommand(get: GetInput, ctx: ParseContext): Command {
  const commandText = ctx.command ?? (get('command') || 'auto');
  // `auto` without an event to decide (a local run) deploys, as a push does.
  const command = (commandText === 'auto' ? 'deploy' : commandText) as Command;
  if (!COMMANDS.includes(command)) {
    throw new InputError(
      'command',
      `"${commandText}" is not a command: expected auto or one of ${COMMANDS.join(', ')}`,
    );
  }
  return command;
}

export type Target = Pick<
  Inputs,
  'service' | 'services' | 'percent' | 'progression' | 'environment' | 'namespace' | 'kubeconfig' | 'context'
> & {
  /** The input that named the Services (`service` or `services`), for the messages about their names. */
  serviceInput: 'service' | 'services';
};

/** The Services, from `service` or `services` (one or several). */
export function parseServices(
  get: GetInput,
  command: Command,
): Pick<Target, 'service' | 'services' | 'serviceInput'> {
  const serviceText = get('service');
  const servicesText = get('services');
  if (serviceText && servicesText) {
    throw new InputError('services', "give either 'service' or 'services', not both");
  }
  const services = (servicesText ? servicesText.split(/[\s,]+/).filter(Boolean) : [serviceText]).filter(
    Boolean,
  );
  for (const name of services) dnsLabel(servicesText ? 'services' : 'service', name, 'Service name');
  if (new Set(services).size !== services.length) {
    throw new InputError('services', 'lists a Service twice');
  }
  if (services.length === 0 && command !== 'advance' && command !== 'help') {
    throw new InputError(
      'service',
      `is required for command '${command}': the name of the Knative Service (or 'services', one per line)`,
    );
  }
  return { service: services[0] ?? '', services, serviceInput: servicesText ? 'services' : 'service' };
}

/** The Services, how the command acts on them (progression, percent, environment), and where they are. */
export function parseTarget(get: GetInput, ctx: ParseContext, command: Command): Target {
  const { service, services, serviceInput } = parseServices(get, command);
  const progressionText = get('progression') || 'inline';
  if (progressionText !== 'inline' && progressionText !== 'scheduled') {
    throw new InputError(
      'progression',
      `"${progressionText}" is not a progression: expected inline (the job waits through the steps) or ` +
        'scheduled (scheduled runs with command advance take the steps)',
    );
  }
  const percentText = ctx.percent ?? get('percent');
  let percent: number | undefined;
  if (percentText !== '') {
    percent = Number(percentText.replace(/%$/, ''));
    if (!/^\d+%?$/.test(percentText) || percent < 1 || percent > 100) {
      throw new InputError(
        'percent',
        `"${percentText}" is not a percent: expected a whole number from 1 to 100`,
      );
    }
    if (command !== 'promote') {
      throw new InputError('percent', `is only for command promote, not ${command}`);
    }
  }
  const environmentText = get('environment');
  if (
    environmentText &&
    (environmentText.length > 255 || [...environmentText].some((c) => c.charCodeAt(0) < 32))
  ) {
    throw new InputError('environment', `"${environmentText}" is not an environment name`);
  }
  const namespace = get('namespace') || 'default';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new InputError('namespace', `"${namespace}" is not a valid namespace name (a DNS-1123 label)`);
  }
  return {
    service,
    services,
    percent,
    progression: progressionText,
    environment: environmentText || undefined,
    namespace,
    kubeconfig: get('kubeconfig') || undefined,
    context: get('context') || undefined,
    serviceInput,
  };
}
