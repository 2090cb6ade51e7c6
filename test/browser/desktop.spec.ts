// The window as the desktop app shows it, driven through a test bridge that implements the typed
// contract (bridge/contract.ts): what only the desktop host does.
import { expect, rows, test } from './fixtures/herald.ts';
import { bridgeCalls, desktopSettings, desktopStatus, openDesktopWindow, pushEvent, pushStatus, richHistory, sampleEvent } from './fixtures/test-bridge.ts';

test('a pause from the tray shows as paused with its end; Resume asks the host to resume', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: richHistory() });
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await expect(page.getByTestId('paused')).toBeHidden();

  const until = Date.now() + 2 * 3_600_000;
  await pushStatus(page, { paused: { until } });
  const hhmm = await page.evaluate((t) => new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }), until);
  await expect(page.getByTestId('paused')).toHaveText(`Notifications paused until ${hhmm}`);
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
  await page.evaluate(() => (globalThis as unknown as { __heraldTest: { failNextSave(e: object): void } }).__heraldTest.failNextSave({ caFile: 'Cannot read /etc/ssl/missing.pem: no such file' }));
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

test('rows: a url opens through the host on click and on Enter; arrows move between rows; unread until seen', async ({ page, staticSite }) => {
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

  await rows(page).filter({ hasText: 'Production is down' }).click();
  expect((await bridgeCalls(page, 'openUrl')).map((c) => c.args[0])).toEqual(['https://status.example.com']);

  // Keyboard: one tab stop for the list, arrows move, Enter opens.
  await rows(page).first().focus();
  await page.keyboard.press('ArrowDown');
  await expect(rows(page).nth(1)).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(rows(page).nth(4)).toBeFocused();
  await expect(rows(page).nth(4)).toContainText('Disk almost full');
  await page.keyboard.press('Enter');
  await page.keyboard.press(' ');
  expect((await bridgeCalls(page, 'openUrl')).map((c) => c.args[0])).toEqual(['https://status.example.com', 'https://grafana.example.com/d/disk', 'https://grafana.example.com/d/disk']);
  await page.keyboard.press('Home');
  await expect(rows(page).first()).toBeFocused();
  await expect(page.locator('[role="feed"] article[tabindex="0"]')).toHaveCount(1);

  // A new event while the window is open: announced, and the focused row keeps focus.
  await pushEvent(page, sampleEvent({ title: 'Coffee is ready', topic: 'kitchen' }));
  await expect(rows(page)).toHaveCount(8);
  await expect(rows(page).nth(1)).toBeFocused();
  await expect(page.getByTestId('announcer')).toHaveText('New event: Coffee is ready');
});

test('connection states: reconnecting with a live countdown, offline, auth failed linking to settings', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, { settings: desktopSettings(), status: desktopStatus(), history: [] });
  await pushStatus(page, { feed: { status: 'reconnecting', since: Date.now(), attempt: 1, reason: 'connection refused', nextAttemptAt: Date.now() + 4_500 } });
  await expect(page.getByTestId('connection')).toHaveText(/Reconnecting/);
  await expect(page.getByTestId('connection-detail')).toHaveText(/Connection refused\. Next try in [45] s\./);
  await expect(page.getByTestId('connection-detail')).toHaveText(/Next try in [23] s\./);

  await pushStatus(page, { feed: { status: 'offline', since: Date.now(), attempt: 4, reason: 'connection refused', nextAttemptAt: Date.now() + 60_000 } });
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
  const first = await row.locator('.job-status').textContent();
  await expect(row.locator('.job-status')).not.toHaveText(first!);
});

test('the host opens the window at #settings or #history; the fragment follows the view', async ({ page, staticSite }) => {
  // The tray's "Settings…" loads the page at #settings, or changes the fragment of an open window.
  await openDesktopWindow(page, `${staticSite.url}#settings`, { settings: desktopSettings(), status: desktopStatus(), history: richHistory() });
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
