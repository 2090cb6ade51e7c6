// The window as the desktop app shows it, driven through a test bridge that implements the typed
// contract (bridge/contract.ts): what only the desktop host does.
import { expect, rows, test } from './fixtures/herald.ts';
import {
  bridgeCalls,
  desktopSettings,
  desktopStatus,
  openDesktopWindow,
  pushEvent,
  pushStatus,
  richHistory,
  sampleEvent,
} from './fixtures/test-bridge.ts';

test('a pause from the tray shows as paused with its end; Resume asks the host to resume', async ({ page, staticSite }) => {
  // A fixed afternoon (the page's clock, not the machine's): the end reads the same whenever the test runs.
  await page.clock.install({ time: new Date('2026-06-10T15:00:00') });
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: richHistory() });
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await expect(page.getByTestId('paused')).toBeHidden();

  // The window's own locale says how a time and a weekday are written.
  const [later, overnight, day] = await page.evaluate(() => [
    new Date('2026-06-10T17:00:00').toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }),
    new Date('2026-06-11T01:00:00').toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }),
    new Date('2026-06-11T01:00:00').toLocaleDateString(undefined, { weekday: 'short' }),
  ]);
  // Ending today: the time alone.
  await pushStatus(page, { paused: { until: new Date('2026-06-10T17:00:00').getTime() } });
  await expect(page.getByTestId('paused')).toHaveText(`Notifications paused until ${later}`);
  // Ending tomorrow: the day first.
  await pushStatus(page, { paused: { until: new Date('2026-06-11T01:00:00').getTime() } });
  await expect(page.getByTestId('paused')).toHaveText(`Notifications paused until ${day} ${overnight}`);
  await pushStatus(page, { paused: { until: null } });
  await expect(page.getByTestId('paused')).toHaveText('Notifications paused until you resume');

  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('paused')).toBeHidden();
  expect((await bridgeCalls(page, 'setPaused')).map((c) => c.args)).toEqual([[false]]);

  // The window can pause too.
  await page.getByLabel('Pause notifications').selectOption('1h');
  await expect(page.getByTestId('paused')).toHaveText(/Notifications paused until/);
  const [call] = await bridgeCalls(page, 'setPaused').then((c) => c.slice(1));
  expect(typeof call?.args[0]).toBe('number');
});

test('desktop-only settings are shown; the local server toggle calls setLocalServer at once', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: [] });
  await expect(page.getByTestId('local-server')).toHaveText('Local server running at http://127.0.0.1:5080');
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('CA certificate file')).toBeVisible();
  await expect(page.getByLabel('Start Herald when I log in')).toBeVisible();
  const toggle = page.getByLabel('Run the companion server in the app');
  await expect(toggle).toBeChecked();
  await expect(page.getByLabel('Server address')).toBeEditable();

  await toggle.uncheck();
  await expect(page.getByTestId('settings-local-server')).toHaveText('Local server off');
  await expect(page.getByTestId('local-server')).toHaveText('Local server off');
  await toggle.check();
  await expect(page.getByTestId('settings-local-server')).toHaveText(/running/);
  expect((await bridgeCalls(page, 'setLocalServer')).map((c) => c.args)).toEqual([[false], [true]]);
  // The toggle is an action, not a saved preference: nothing was saved.
  expect(await bridgeCalls(page, 'saveSettings')).toEqual([]);

  // A crash of the local server is visible with its restart countdown.
  await pushStatus(page, { localServer: { status: 'crashed', error: 'port 5080 is in use', nextAttemptAt: Date.now() + 9_000 } });
  await expect(page.getByTestId('local-server')).toHaveText(/Local server stopped: port 5080 is in use\. Restarting in \d s\./);
});

test('settings: client-side messages, and errors the host returns, shown next to their field', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: [] });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Server address').fill('ftp://example.com');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('error-serverUrl')).toHaveText('Must be an http:// or https:// address');
  await expect(page.getByLabel('Server address')).toBeFocused();
  expect(await bridgeCalls(page, 'saveSettings')).toEqual([]);

  await page.getByLabel('Server address').fill('https://herald.example.com');
  await expect(page.getByTestId('error-serverUrl')).toHaveText('');
  await page.getByLabel('CA certificate file').fill('/etc/ssl/missing.pem');
  await page.evaluate(() =>
    (globalThis as unknown as { __heraldTest: { failNextSave(e: object): void } }).__heraldTest.failNextSave({
      caFile: 'Cannot read /etc/ssl/missing.pem: no such file',
    }),
  );
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('error-caFile')).toHaveText('Cannot read /etc/ssl/missing.pem: no such file');
  await expect(page.getByLabel('CA certificate file')).toBeFocused();

  await page.getByLabel('CA certificate file').fill('');
  await page.getByLabel('Start Herald when I log in').check();
  await page.getByLabel('Until I turn it off').check();
  await page.getByLabel('Let urgent events through').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('saved')).toHaveText('Saved.');
  const saves = await bridgeCalls(page, 'saveSettings');
  expect(saves.at(-1)?.args[0]).toMatchObject({
    serverUrl: 'https://herald.example.com',
    caFile: '',
    launchAtLogin: true,
    doNotDisturb: { enabled: true, until: null, allowUrgent: false },
  });
});

test('rows: the link opens through the host; arrows move between rows; unread until seen', async ({ page, staticSite }) => {
  const history = richHistory();
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus({ unread: 2 }), history });
  // Grouped: 9 events; two jobs have 2 events each → 7 rows.
  await expect(rows(page)).toHaveCount(7);
  await expect(page.getByRole('button', { name: /^History/ })).toContainText('2');

  // The two newest are unread (marked, and named so for screen readers) until the window has been
  // looked at for a moment; then the host is told and the marks go.
  await expect(page.locator('.row.unread')).toHaveCount(2);
  await expect(rows(page).first().getByRole('heading')).toHaveText('Unread: Build done');
  await expect.poll(() => bridgeCalls(page, 'markRead').then((c) => c.map((x) => x.args[0]))).toEqual([history.at(-1)!.id]);
  await expect(page.locator('.row.unread')).toHaveCount(0);

  await rows(page).filter({ hasText: 'Production is down' }).getByRole('button', { name: 'Open link' }).click();
  expect((await bridgeCalls(page, 'openUrl')).map((c) => c.args[0])).toEqual(['https://status.example.com']);
  // Rows without a link offer no such button.
  await expect(rows(page).filter({ hasText: 'Build done' }).getByRole('button', { name: 'Open link' })).toHaveCount(0);

  // Keyboard: one tab stop for the list, arrows move across the day groups.
  await rows(page).first().focus();
  await page.keyboard.press('ArrowDown');
  await expect(rows(page).nth(1)).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(rows(page).nth(4)).toBeFocused();
  await expect(rows(page).nth(4)).toContainText('Disk almost full');
  await page.keyboard.press('End');
  await expect(rows(page).last()).toBeFocused();
  await page.keyboard.press('Home');
  await expect(rows(page).first()).toBeFocused();
  await expect(page.locator('[role="feed"] article[tabindex="0"]')).toHaveCount(1);

  // A new event while the window is open: announced, and the focused row keeps focus.
  await pushEvent(page, sampleEvent({ title: 'Coffee is ready', topic: 'kitchen' }));
  await expect(rows(page)).toHaveCount(8);
  await expect(rows(page).nth(1)).toBeFocused();
  await expect(page.getByTestId('announcer')).toHaveText('New event: Coffee is ready');
});

test('a long body expands to the whole text on click or Enter and collapses again, its state announced', async ({ page, staticSite }) => {
  const body = Array.from({ length: 12 }, (_, i) => `line ${i + 1} of the release notes`).join('\n');
  const history = [sampleEvent({ title: 'Release notes', body }, 60_000), sampleEvent({ title: 'Short one', body: 'fits on a line' })];
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history });
  const long = rows(page).filter({ hasText: 'Release notes' });
  const toggle = long.getByRole('button', { name: 'Show more' });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  const bodyEl = long.locator('.body');
  await expect(toggle).toHaveAttribute('aria-controls', (await bodyEl.getAttribute('id'))!);
  const clamped = (await bodyEl.boundingBox())!.height;
  // A short body has nothing more to show: no toggle.
  await expect(rows(page).filter({ hasText: 'Short one' }).getByRole('button', { name: /Show/ })).toHaveCount(0);

  // A click on the row (not on a button in it) expands it.
  await long.getByRole('heading').click();
  await expect(long.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
  expect((await bodyEl.boundingBox())!.height).toBeGreaterThan(clamped * 2);
  await expect(bodyEl).toHaveText(body);
  await expect(page.getByTestId('announcer')).toHaveText('Expanded');

  // Enter on the focused row collapses it again; Space expands it.
  await long.focus();
  await page.keyboard.press('Enter');
  await expect(long.getByRole('button', { name: 'Show more' })).toHaveAttribute('aria-expanded', 'false');
  await expect(page.getByTestId('announcer')).toHaveText('Collapsed');
  expect((await bodyEl.boundingBox())!.height).toBeCloseTo(clamped, 0);
  await page.keyboard.press(' ');
  await expect(long.getByRole('button', { name: 'Show less' })).toBeVisible();
  // The disclosure button works from the keyboard too, and the row stays open across updates.
  await long.getByRole('button', { name: 'Show less' }).press('Enter');
  await expect(long.getByRole('button', { name: 'Show more' })).toBeFocused();
  await long.getByRole('button', { name: 'Show more' }).press('Enter');
  await pushEvent(page, sampleEvent({ title: 'Meanwhile' }));
  await expect(rows(page)).toHaveCount(3);
  await expect(long.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
  expect(await bridgeCalls(page, 'openUrl')).toEqual([]);
});

test('row actions: copy the text, mark read, delete from this history only', async ({ page, context, staticSite }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(staticSite.url).origin });
  const started = sampleEvent(
    { type: 'job.started', topic: 'ci', title: '▶ deploy started', job: { id: 'd1', name: 'deploy', status: 'running' } },
    40_000,
  );
  const backup = sampleEvent({ title: 'Backup done', body: 'Backup done' }, 35_000);
  const failed = sampleEvent(
    {
      type: 'job.failed',
      topic: 'ci',
      title: '✗ deploy failed',
      job: { id: 'd1', name: 'deploy', status: 'failed', exitCode: 2, durationMs: 4000, outputTail: 'step 1\nerror: boom' },
    },
    30_000,
  );
  const newest = sampleEvent({ title: 'Newest', url: 'https://example.com/n' }, 10_000);
  // The clock stands still, so nothing is marked seen by itself: only what the test does happens.
  await page.clock.install();
  await page.clock.pauseAt(Date.now() + 1000);
  await openDesktopWindow(page, staticSite.url, {
    settings: desktopSettings(),
    status: desktopStatus({ unread: 4 }),
    history: [started, backup, failed, newest],
  });
  await expect(rows(page)).toHaveCount(3);
  await expect(page.locator('.row.unread')).toHaveCount(3);

  // Copy puts the entry's text on the clipboard: the job's name, outcome and output.
  const job = rows(page).filter({ has: page.getByRole('heading', { name: /deploy/ }) });
  await job.getByRole('button', { name: 'Copy' }).click();
  await expect(job.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => (navigator as unknown as { clipboard: { readText(): Promise<string> } }).clipboard.readText())).toBe(
    'deploy\nFailed after 4.0 s · exit 2\nstep 1\nerror: boom',
  );

  // Mark read on one entry: the read mark moves to it (it and the ones before it are read; newer stay unread).
  await job.getByRole('button', { name: 'Mark read' }).click();
  expect((await bridgeCalls(page, 'markRead')).map((c) => c.args[0])).toEqual([failed.id]);
  await expect(job).not.toHaveClass(/unread/);
  await expect(rows(page).filter({ hasText: 'Backup done' })).not.toHaveClass(/unread/);
  await expect(rows(page).filter({ hasText: 'Newest' })).toHaveClass(/unread/);
  await expect(job.getByRole('button', { name: 'Mark read' })).toHaveCount(0);

  // Delete asks the host to drop the job's events (both), and focus goes to the next entry.
  await job.getByRole('button', { name: 'Delete' }).click();
  await expect(rows(page)).toHaveCount(2);
  expect((await bridgeCalls(page, 'deleteEvents')).map((c) => c.args[0])).toEqual([[started.id, failed.id]]);
  await expect(rows(page).filter({ hasText: 'Backup done' })).toBeFocused();
  await page.clock.runFor(50);
  await expect(page.getByTestId('announcer')).toHaveText('Deleted deploy');
  // (That the host keeps it deleted is tested on each host: test/main/herald-store.test.ts, web.spec.ts.)
});

test('rows are grouped by day, with the absolute time on hover', async ({ page, staticSite }) => {
  const day = 86_400_000;
  const history = [
    sampleEvent({ title: 'Last week' }, 9 * day),
    sampleEvent({ title: 'Two days ago' }, 2 * day),
    sampleEvent({ title: 'Yesterday evening' }, day),
    sampleEvent({ title: 'Just now' }, 0),
  ];
  await page.clock.install({ time: new Date('2026-06-10T15:00:00') });
  for (const [e, at] of history.map(
    (e, i) =>
      [
        e,
        [
          new Date('2026-05-31T10:00:00'),
          new Date('2026-06-08T09:30:00'),
          new Date('2026-06-09T21:15:00'),
          new Date('2026-06-10T14:59:00'),
        ][i]!,
      ] as const,
  ))
    e.time = at.toISOString();
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history });
  const headings = page.locator('.day-heading');
  await expect(headings).toHaveCount(4);
  const labels = await page.evaluate(() =>
    [new Date('2026-06-08T09:30:00'), new Date('2026-05-31T10:00:00')].map((d) =>
      d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' }),
    ),
  );
  await expect(headings).toHaveText(['Today', 'Yesterday', labels[0]!, labels[1]!]);
  // Each day is its own feed, named by its heading, with the rows of that day.
  await expect(page.getByRole('feed', { name: 'Today, newest first' }).locator('article')).toHaveText([/Just now/]);
  await expect(page.getByRole('feed', { name: 'Yesterday, newest first' }).locator('article')).toHaveText([/Yesterday evening/]);
  const time = rows(page).filter({ hasText: 'Yesterday evening' }).locator('time');
  await expect(time).toHaveText('18 h ago'); // 17 h 45 min
  const full = await page.evaluate(() =>
    new Date('2026-06-09T21:15:00').toLocaleString(undefined, {
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }),
  );
  await expect(time).toHaveAttribute('title', full);
  // At midnight "Today" becomes "Yesterday" without a reload.
  await page.clock.fastForward(9 * 3_600_000);
  await page.clock.runFor(2_000);
  await expect(headings.first()).toHaveText('Yesterday');
});

test('job rows show their state and last output line; an event without a title shows its text once', async ({ page, staticSite }) => {
  const history = [
    sampleEvent({ title: 'Backup done', body: 'Backup done' }, 50_000),
    sampleEvent(
      { type: 'job.started', topic: 'ci', title: '▶ build started', priority: 2, job: { id: 'run', name: 'build', status: 'running' } },
      40_000,
    ),
    sampleEvent(
      {
        type: 'job.completed',
        topic: 'ci',
        title: '✓ tests succeeded',
        priority: 3,
        job: { id: 'ok', name: 'tests', status: 'succeeded', exitCode: 0, durationMs: 2000, outputTail: 'running 12 tests\n12 passed\n' },
      },
      30_000,
    ),
    sampleEvent(
      {
        type: 'job.failed',
        topic: 'ci',
        title: '✗ lint failed',
        priority: 4,
        job: { id: 'bad', name: 'lint', status: 'failed', exitCode: 1, durationMs: 900, outputTail: 'a.ts ok\nb.ts: 3 problems' },
      },
      20_000,
    ),
    sampleEvent(
      {
        type: 'job.failed',
        topic: 'ci',
        title: '✗ deploy failed',
        priority: 5,
        job: { id: 'prod', name: 'deploy', status: 'failed', exitCode: 2 },
      },
      10_000,
    ),
  ];
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history });
  await expect(rows(page)).toHaveCount(5);
  const row = (name: string) => rows(page).filter({ has: page.getByRole('heading', { name, exact: true }) });

  // A running job: its state, no "low priority" chip for herald run's job.started.
  await expect(row('build').locator('.chip.state')).toHaveText(/^Running for/);
  await expect(row('build').locator('.chip.prio')).toHaveCount(0);
  // Finished jobs show their state and their last line of output, success or not.
  await expect(row('tests').locator('.chip.state')).toHaveText('Succeeded in 2.0 s · exit 0');
  await expect(row('tests').locator('.tail')).toHaveText('12 passed');
  await expect(row('tests').locator('.chip.prio')).toHaveCount(0);
  await expect(row('lint').locator('.chip.state')).toHaveText('Failed after 900 ms · exit 1');
  await expect(row('lint').locator('.tail')).toHaveText('b.ts: 3 problems');
  await expect(row('lint').locator('.chip.prio')).toHaveCount(0);
  // Expanded, a job shows all of the output it sent.
  await row('lint').getByRole('button', { name: 'Show more' }).click();
  await expect(row('lint').locator('.tail')).toHaveText('a.ts ok\nb.ts: 3 problems');
  // A priority the publisher chose beyond what the state implies still shows.
  await expect(row('deploy').locator('.chip.prio')).toHaveText('urgent priority');

  // `curl -d "Backup done"`: the server took the title from the body; the row says it once.
  await expect(row('Backup done')).toBeVisible();
  await expect(row('Backup done').locator('.body')).toHaveCount(0);
  expect(await row('Backup done').locator('.content').textContent()).not.toMatch(/Backup done.*Backup done/);
});

test('connection states: reconnecting with a live countdown, offline, auth failed linking to settings', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: [] });
  await pushStatus(page, {
    feed: { status: 'reconnecting', since: Date.now(), attempt: 1, reason: 'connection refused', nextAttemptAt: Date.now() + 4_500 },
  });
  await expect(page.getByTestId('connection')).toHaveText(/Reconnecting/);
  await expect(page.getByTestId('connection-detail')).toHaveText(/Connection refused\. Next try in [45] s\./);
  await expect(page.getByTestId('connection-detail')).toHaveText(/Next try in [23] s\./);

  await pushStatus(page, {
    feed: { status: 'offline', since: Date.now(), attempt: 4, reason: 'connection refused', nextAttemptAt: Date.now() + 60_000 },
  });
  await expect(page.getByTestId('connection')).toHaveText(/Offline/);
  await expect(page.getByTestId('connection-detail')).toHaveText(/Next try in 1 min\./);

  await pushStatus(page, { feed: { status: 'auth-failed', since: Date.now(), httpStatus: 401, reason: 'the server refused the token' } });
  await expect(page.getByTestId('connection')).toHaveText(/Token refused/);
  await page.getByRole('button', { name: 'Open settings' }).click();
  await expect(page.getByLabel('Token')).toBeFocused();

  await pushStatus(page, { gap: { afterId: '10', throughId: '42', missed: 32, time: new Date().toISOString() } });
  await expect(page.getByTestId('gap-notice')).toContainText('32 events were lost');
  await page.getByTestId('gap-notice').getByRole('button', { name: 'Dismiss' }).click();
  await expect(page.getByTestId('gap-notice')).toHaveCount(0);
  expect(await bridgeCalls(page, 'dismissGap')).toHaveLength(1);
});

test('a running job shows a live duration', async ({ page, staticSite }) => {
  const started = sampleEvent({ type: 'job.started', topic: 'ci', job: { id: 'long', name: 'long job', status: 'running' } }, 62_000);
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: [started] });
  const row = rows(page).first();
  await expect(row).toContainText(/Running for 1 min [23] s/);
  const first = await row.locator('.chip.state').textContent();
  await expect(row.locator('.chip.state')).not.toHaveText(first!);
});

test('the host opens the window at #settings or #history; the fragment follows the view', async ({ page, staticSite }) => {
  // The tray's "Settings…" loads the page at #settings, or changes the fragment of an open window.
  await openDesktopWindow(page, `${staticSite.url}#settings`, {
    settings: desktopSettings(),
    status: desktopStatus(),
    history: richHistory(),
  });
  await expect(page.getByLabel('Server address')).toBeVisible();
  await page.evaluate("location.hash = '#history'");
  await expect(page.getByLabel('Server address')).toBeHidden();
  await expect(rows(page).first()).toBeVisible();
  await page.evaluate("location.hash = '#settings'");
  await expect(page.getByLabel('Server address')).toBeVisible();
  // Choosing a view in the window moves the fragment, so the host sees where the page is.
  await page.getByRole('button', { name: 'History', exact: true }).click();
  await expect.poll(() => page.evaluate('location.hash')).toBe('#history');
});
