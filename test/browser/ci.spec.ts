// CI runs in the window: a GitHub workflow run delivered to a real server's /hooks/github (signed
// as GitHub signs it) shows as one job row from its start to its end, with the run's page as the
// click target. Screenshot for a person: test-results/screenshots/ci-run.png (not committed).
import { sign } from '@octokit/webhooks-methods';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../../server/serve.ts';
import { expect, rows, saveScreenshot, test, webRoot } from './fixtures/herald.ts';

const SECRET = 'window-test-secret';

function workflowRun(action: string, run: Record<string, unknown>) {
  return {
    action,
    workflow_run: {
      id: 4242,
      name: 'tests',
      head_branch: 'main',
      head_sha: '3484a3fb816e0859fd6e1cea078d76385ff50625',
      display_title: 'Fix the flaky login test',
      event: 'push',
      run_number: 163,
      run_attempt: 1,
      html_url: 'https://github.com/acme/api/actions/runs/4242',
      created_at: '2024-05-01T10:00:00Z',
      run_started_at: '2024-05-01T10:00:05Z',
      updated_at: '2024-05-01T10:00:05Z',
      status: 'queued',
      conclusion: null,
      ...run,
    },
    repository: { full_name: 'acme/api', default_branch: 'main', html_url: 'https://github.com/acme/api' },
  };
}

test('a GitHub workflow run is one row from requested to failed, linking to the run', async ({ page }) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-browser-ci-'));
  const server = await startServer({ port: 0, dataDir, webRoot, log: () => {}, heartbeatMs: 2000, retryMs: 500, githubSecret: SECRET });
  const deliver = async (payload: unknown, delivery: string) => {
    const body = JSON.stringify(payload);
    const res = await fetch(`${server.url}/hooks/github`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'workflow_run',
        'X-GitHub-Delivery': delivery,
        'X-Hub-Signature-256': await sign(SECRET, body),
      },
      body,
    });
    expect(res.status).toBe(201);
  };
  try {
    await page.goto(server.url);
    await expect(page.getByTestId('connection')).toHaveText(/Connected/);

    await deliver(workflowRun('requested', {}), 'd-1');
    const row = rows(page).first();
    await expect(row.getByRole('heading')).toHaveText(/acme\/api: tests \(main\)/);
    await expect(row).toContainText(/Running for \d/);

    await deliver(workflowRun('completed', { status: 'completed', conclusion: 'failure', updated_at: '2024-05-01T10:04:05Z' }), 'd-2');
    await expect(rows(page)).toHaveCount(1);
    await expect(row).toHaveClass(/job-failed/);
    await expect(row.locator('.chip.state')).toHaveText('Failed after 4 min · exit 1');
    // A failure's high priority is what its state implies: the row wears the state, no priority chip.
    await expect(row.locator('.chip.prio')).toHaveCount(0);
    await expect(row).toContainText('Fix the flaky login test');
    // The link: the run's page, named by its host, opened from the row's actions.
    await expect(row.locator('.link')).toHaveText(/github\.com/);
    await expect(row.getByRole('button', { name: 'Open link' })).toHaveAttribute(
      'title',
      'Open https://github.com/acme/api/actions/runs/4242',
    );
    await saveScreenshot(page, 'ci-run');
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
