// The GitHub section of the inputs, read before the event decides the command: the `command` input, the comment
// commands' prefix, who may give them, whether forks may, and whether Deployments are to production.

import { InputError } from '../errors.ts';
import { ROLES, type Role } from '../github/api.ts';
import { COMMANDS, type Command, type GetInput, type GitHubInputs } from './types.ts';
import { parseBoolean } from './values.ts';

export function parseGitHubInputs(get: GetInput): GitHubInputs {
  const commandText = get('command') || 'auto';
  if (commandText !== 'auto' && !COMMANDS.includes(commandText as Command)) {
    throw new InputError(
      'command',
      `"${commandText}" is not a command: expected auto or one of ${COMMANDS.join(', ')}`,
    );
  }
  const commandPrefix = get('command-prefix') || '/canary';
  if (!/^[/.!#$%&*+,:;=?@^~A-Za-z][\w./:!#$%&*+,;=?@^~-]{0,39}$/.test(commandPrefix)) {
    throw new InputError(
      'command-prefix',
      `"${commandPrefix}" is not a command prefix: expected one word without spaces, like /canary or .deploy`,
    );
  }
  const permissionsText = get('permissions') || 'write,maintain,admin';
  const permissions = permissionsText
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((p) => p.toLowerCase());
  for (const p of permissions) {
    if (!ROLES.includes(p as Role)) {
      throw new InputError(
        'permissions',
        `"${p}" is not a repository permission: expected a comma-separated list from ${ROLES.join(', ')}`,
      );
    }
  }
  if (!permissions.length)
    throw new InputError('permissions', 'expected at least one permission, like write');
  const productionText = get('production-environment') || 'auto';
  const production = productionText.toLowerCase();
  if (production !== 'auto' && production !== 'true' && production !== 'false') {
    throw new InputError(
      'production-environment',
      `"${productionText}" is not auto, true or false (auto leaves GitHub's default: production only for an ` +
        `environment named production)`,
    );
  }
  return {
    command: commandText as Command | 'auto',
    token: get('github-token'),
    commandPrefix,
    permissions: permissions as Role[],
    allowForks: parseBoolean('allow-forks', get('allow-forks'), false),
    ...(production === 'auto' ? {} : { productionEnvironment: production === 'true' }),
  };
}
