// The README's first command: `npm run demo` shows a promotion and an automatic rollback.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('npm run demo promotes a healthy release and rolls back a faulty one', async () => {
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/demo.ts'], {
    env: { ...process.env, DEMO_INTERVAL: '500ms', NO_COLOR: '1' },
    timeout: 60_000,
  });
  expect(stdout).toContain('▼ Step 2/3: 50% to hello-v2');
  expect(stdout).toMatch(/→ exit code 0; outputs: status=promoted revision=hello-v2/);
  // With 500 ms steps, a 30%-faulty v3 can get through its 10% step without an error (0.7^10 = 3%).
  expect(stdout).toMatch(
    /Error: Rolled back hello-v3: (10|50)% step failed: (error rate over max-error-rate 1\.0%( this step)?|more errors than the stable revision): candidate \d+\/\d+/,
  );
  expect(stdout).toMatch(
    /→ exit code 1; outputs: status=rolled-back revision=hello-v3 stable-revision=hello-v2 percent=0/,
  );
  expect(stdout).toMatch(/hello-v2\s+100%\s+tag stable/);
  expect(stdout).toContain('Demo finished: v2 promoted, v3 rolled back automatically.');
  // Workflow commands are rendered, and the kubeconfig's token never shows.
  expect(stdout).not.toContain('::');
}, 60_000);
