// The web app (the window UI served by the companion server at `/`) against a real server.
import { expect, rows, test } from './fixtures/herald.ts';
import { FaultProxy } from '../feed/proxy.ts';

test('the empty state teaches how to send a first event, with copy buttons', async ({ page, context, herald }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: herald.url });
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  const empty = page.getByTestId('empty');
  await expect(empty).toBeVisible();
  await expect(empty).toContainText(`curl -d "build done" ${herald.url}/events`);
  // Commands that work as written: in the repository, and once linked. No `npx herald`, which asks
  // the npm registry for a package of that name (someone else's).
  await expect(empty.locator('pre')).toHaveText([
    `curl -d "build done" ${herald.url}/events`,
    'npm run herald -- run -- make',
    'herald run -- make',
  ]);
  await expect(empty).not.toContainText('npx');
  await page.getByRole('button', { name: 'Copy: Send a notification with curl' }).click();
  await expect(page.getByRole('button', { name: 'Copy: Send a notification with curl' })).toHaveText('Copied');
  expect(await page.evaluate(() => (navigator as unknown as { clipboard: { readText(): Promise<string> } }).clipboard.readText())).toBe(
    `curl -d "build done" ${herald.url}/events`,
  );
  // Desktop-only settings are not offered in a browser.
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('Token')).toBeVisible();
  await expect(page.getByLabel('CA certificate file')).toHaveCount(0);
  await expect(page.getByText('Run the companion server in the app')).toHaveCount(0);
  await expect(page.getByText('Start Herald when I log in')).toHaveCount(0);
  await expect(page.getByLabel('Server address')).toHaveValue(herald.url);
  await expect(page.getByLabel('Server address')).toHaveAttribute('readonly', '');
});

test('events appear live, newest first, and a job is one row from start to finish', async ({ page, herald }) => {
  await herald.publish({ title: 'Old news', body: 'published before the page opened', topic: 'misc' });
  await page.goto(herald.url);
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);

  await herald.publish({
    type: 'job.started',
    topic: 'ci',
    job: { id: 'build-42', name: 'make release', status: 'running', host: 'ci-1' },
  });
  await expect(rows(page)).toHaveCount(2);
  const job = rows(page).first();
  await expect(job.getByRole('heading')).toHaveText(/make release/);
  await expect(job).toContainText(/Running for \d/);
  await expect(job).toContainText('on ci-1');

  await herald.publish({ title: 'Deploy approved', body: 'by alice', topic: 'deploy', priority: 5, url: 'https://example.com/deploy/7' });
  await expect(rows(page)).toHaveCount(3);
  await expect(rows(page).first().getByRole('heading')).toHaveText(/Deploy approved/);
  await expect(rows(page).first()).toContainText('urgent priority');

  await herald.publish({
    type: 'job.failed',
    topic: 'ci',
    job: {
      id: 'build-42',
      name: 'make release',
      status: 'failed',
      exitCode: 2,
      durationMs: 185_000,
      outputTail: 'compiling\nerror: missing semicolon\n',
    },
  });
  // Still one row for the job, now on top, with the outcome.
  await expect(rows(page)).toHaveCount(3);
  const failed = rows(page).first();
  await expect(failed.getByRole('heading')).toHaveText(/make release/);
  await expect(failed).toContainText('Failed after 3 min 5 s · exit 2');
  await expect(failed).toContainText('error: missing semicolon');
  await expect(failed).toHaveClass(/job-failed/);
  await expect(page.getByTestId('announcer')).toContainText(/make release failed|new event/i);
});

test('filter by topic, type and status, and search title and body', async ({ page, herald }) => {
  await herald.publish({ title: 'Backup finished', body: 'nightly snapshot of /srv', topic: 'backup' });
  await herald.publish({ title: 'Disk almost full', body: 'volume /srv at 93%', topic: 'alerts', priority: 4 });
  await herald.publish({
    type: 'job.completed',
    topic: 'ci',
    job: { id: 'j1', name: 'unit tests', status: 'succeeded', exitCode: 0, durationMs: 4000 },
  });
  await herald.publish({
    type: 'job.failed',
    topic: 'ci',
    job: { id: 'j2', name: 'lint', status: 'failed', exitCode: 1, durationMs: 900 },
  });
  await herald.publish({ type: 'deploy.done', title: 'Shipped v2', topic: 'deploy' });
  await page.goto(herald.url);
  await expect(rows(page)).toHaveCount(5);

  await page.getByLabel('Topic').selectOption('ci');
  await expect(rows(page)).toHaveCount(2);
  await page.getByLabel('Status').selectOption('failed');
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('lint');
  await expect(page.getByTestId('count')).toHaveText('1 of 5 shown');

  await page.getByLabel('Topic').selectOption('');
  await page.getByLabel('Status').selectOption('all');
  await page.getByLabel('Type').selectOption('notification');
  await expect(rows(page)).toHaveCount(2);
  await page.getByLabel('Type').selectOption('type:deploy.done');
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('Shipped v2');
  await page.getByLabel('Type').selectOption('job');
  await expect(rows(page)).toHaveCount(2);
  await page.getByLabel('Type').selectOption('all');

  // Search looks at bodies too, every word must match, case does not matter.
  await page.getByLabel('Search title and body').fill('/SRV');
  await expect(rows(page)).toHaveCount(2);
  await page.getByLabel('Search title and body').fill('srv nightly');
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('Backup finished');
  await page.getByLabel('Search title and body').fill('nothing like this');
  await expect(rows(page)).toHaveCount(0);
  await expect(page.getByText('No events match these filters.')).toBeVisible();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(rows(page)).toHaveCount(5);
});

test('clear history asks first, then empties the window and stays empty after a reload', async ({ page, herald }) => {
  await herald.publish({ title: 'one' });
  await herald.publish({ title: 'two' });
  await page.goto(herald.url);
  await expect(rows(page)).toHaveCount(2);
  await page.getByRole('button', { name: 'Clear history…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Clear the history?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(rows(page)).toHaveCount(2);
  await page.getByRole('button', { name: 'Clear history…' }).click();
  await dialog.getByRole('button', { name: 'Clear history' }).click();
  await expect(rows(page)).toHaveCount(0);
  await expect(page.getByTestId('empty')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await expect(page.getByTestId('empty')).toBeVisible();
  await herald.publish({ title: 'three' });
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('three');
});

test('delete removes an entry from this browser only: gone after a reload, still in the server log', async ({ page, herald }) => {
  await herald.publish({ title: 'keep me' });
  const doomed = await herald.publish({ title: 'delete me', body: 'and this' });
  await herald.publish({ type: 'job.started', topic: 'ci', job: { id: 'j', name: 'job to delete', status: 'running' } });
  await herald.publish({ type: 'job.completed', topic: 'ci', job: { id: 'j', name: 'job to delete', status: 'succeeded', exitCode: 0 } });
  await page.goto(herald.url);
  await expect(rows(page)).toHaveCount(3);
  await rows(page).filter({ hasText: 'delete me' }).getByRole('button', { name: 'Delete' }).click();
  await rows(page).filter({ hasText: 'job to delete' }).getByRole('button', { name: 'Delete' }).click();
  await expect(rows(page)).toHaveCount(1);
  // A reload loads /history again: the deleted entries stay deleted.
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('keep me');
  // Also when the history is fetched afresh (a topic change reloads it).
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Topics', { exact: true }).fill('default, ci');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('button', { name: 'Back to history' }).click();
  await herald.publish({ title: 'new one' });
  await expect(rows(page)).toHaveCount(2);
  await expect(page.locator('[role="feed"] article')).not.toContainText(['delete me']);
  // The server's log is untouched.
  const log = (await (await fetch(`${herald.url}/history?after=0`)).json()) as { events: Array<{ id: string }> };
  expect(log.events.map((e) => e.id)).toContain(doomed.id);
});

test('the page loads without a failed request (it has a favicon) or a console error', async ({ page, herald }) => {
  const failed: string[] = [];
  page.on('response', (res) => {
    if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
  });
  page.on('requestfailed', (req) => failed.push(`failed ${req.url()}`));
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  expect(icon).toMatch(/\.svg$/);
  const res = await fetch(new URL(icon!, herald.url));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/svg/);
  // Chromium asks for the icon after the load; give it the time it needs, then look.
  await expect.poll(() => page.evaluate(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.svg')))).toBe(true);
  expect(failed).toEqual([]);
  expect(errors).toEqual([]);
});

test('settings fields are as wide as their card, for a long server address', async ({ page, herald }) => {
  await page.goto(herald.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  for (const label of ['Server address', 'Token', 'Topics']) {
    const field = page.getByLabel(label, { exact: true });
    const card = page.locator('fieldset.group').filter({ has: field });
    const [f, c] = [(await field.boundingBox())!, (await card.boundingBox())!];
    // The card's padding and border aside, the field takes its whole width.
    expect(f.width, label).toBeGreaterThan(c.width - 48);
  }
});

test('reconnecting shows while the server is down; events published meanwhile arrive exactly once', async ({ page, herald }) => {
  await herald.publish({ title: 'before the outage' });
  await page.goto(herald.url);
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);

  await herald.stop();
  await expect(page.getByTestId('connection')).toHaveText(/Reconnecting|Offline/);
  await expect(page.getByTestId('connection-detail')).toContainText(/Next try in \d+ s|Trying now/);

  // Published while this page's server is down: to a second instance on the same data dir.
  const second = await herald.startSecond();
  await herald.publish({ title: 'during the outage 1' }, second.url);
  await herald.publish(
    { type: 'job.completed', job: { id: 'night', name: 'nightly', status: 'succeeded', durationMs: 60_000 } },
    second.url,
  );
  await second.close();

  await herald.restart();
  await expect(page.getByTestId('connection')).toHaveText(/Connected/, { timeout: 20_000 });
  await expect(rows(page)).toHaveCount(3);
  await expect(page.getByRole('heading', { name: 'during the outage 1' })).toHaveCount(1);
  await expect(page.getByRole('heading', { name: /nightly/ })).toHaveCount(1);
  // And live again afterwards.
  await herald.publish({ title: 'after the outage' });
  await expect(rows(page)).toHaveCount(4);
  await expect(rows(page).first()).toContainText('after the outage');
});

test('a stream that stays open and goes silent is replaced after three missed heartbeats; what it held back arrives once', async ({
  page,
  herald,
}) => {
  // A TCP proxy between the page and the server, to silence the connection without closing it
  // (what sleep, a dropped Wi-Fi or a NAT that forgot the connection look like from the page).
  const proxy = await FaultProxy.start(herald.port);
  try {
    await page.goto(proxy.url);
    await expect(page.getByTestId('connection')).toHaveText(/Connected/);
    await herald.publish({ title: 'before the silence' });
    await expect(rows(page)).toHaveCount(1);
    const accepted = proxy.accepted;

    proxy.stallAll();
    await herald.publish({ title: 'held back' });
    // The fixture's server beats every 2 s: after ~6 s of silence the page gives up on the stream.
    await expect(page.getByRole('heading', { name: 'held back' })).toHaveCount(1, { timeout: 30_000 });
    expect(proxy.accepted).toBeGreaterThan(accepted);
    await expect(page.getByTestId('connection')).toHaveText(/Connected/);
    await expect(rows(page)).toHaveCount(2);
    await herald.publish({ title: 'after' });
    await expect(rows(page)).toHaveCount(3);
    await expect(page.getByRole('heading', { name: 'held back' })).toHaveCount(1);
  } finally {
    await proxy.close();
  }
});

test('HTML and scripts in an event are shown as text and run nothing', async ({ page, herald }) => {
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs++;
    void d.dismiss();
  });
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  const title = `<img src=x onerror="window.__pwned=1;alert(1)"><b>bold</b>`;
  const body = `<script>window.__pwned=2;alert(2)</script><iframe src="javascript:alert(3)"></iframe>&amp; <a href="javascript:alert(4)">click</a>`;
  await herald.publish({ title, body, tags: ['<svg onload=alert(5)>'] });
  await herald.publish({
    type: 'job.failed',
    job: {
      id: '<img src=x onerror=alert(6)>',
      name: '<script>alert(7)</script>',
      status: 'failed',
      exitCode: 1,
      outputTail: '<img src=x onerror=alert(8)>',
    },
  });
  await expect(rows(page)).toHaveCount(2);
  await expect(page.getByText(title, { exact: true })).toBeVisible();
  await expect(page.getByText(body, { exact: true })).toBeVisible();
  await expect(page.getByText('#<svg onload=alert(5)>', { exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { name: '<script>alert(7)</script>' })).toBeVisible();
  await expect(page.getByText('<img src=x onerror=alert(8)>', { exact: true })).toBeVisible();
  // Nothing was parsed as markup inside the feed.
  expect(
    await page
      .locator('[role="feed"] img, [role="feed"] script, [role="feed"] iframe, [role="feed"] b, [role="feed"] svg, [role="feed"] a')
      .count(),
  ).toBe(0);
  await rows(page).first().click();
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(dialogs).toBe(0);
});

test('settings: validation messages next to the field, cleared as the field is fixed', async ({ page, herald }) => {
  await page.goto(herald.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Token').fill('has a space');
  await page.getByLabel('Topics', { exact: true }).fill('ci, not a topic!');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('error-token')).toHaveText('A token has no spaces or control characters (at most 512 characters)');
  await expect(page.getByTestId('error-topics')).toHaveText(/"topic!" is not a topic/);
  await expect(page.getByLabel('Token')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Token')).toBeFocused();
  await expect(page.getByTestId('form-error')).toHaveText('Not saved: 2 fields need fixing.');
  // Fixing a field clears its message as you type.
  await page.getByLabel('Topics', { exact: true }).fill('ci, deploy');
  await expect(page.getByTestId('error-topics')).toHaveText('');

  await page.getByLabel('Token').fill('');
  await expect(page.getByTestId('error-token')).toHaveText('');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('saved')).toHaveText('Saved.');
  await expect(page.getByTestId('form-error')).toHaveText('');
  // Saved in the browser: a reload shows the same settings.
  await page.reload();
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('Topics', { exact: true })).toHaveValue('ci, deploy');
});

test.describe('with a token', () => {
  test.use({ heraldOptions: { token: 's3cret-token' } });

  test('auth failed links to settings; the right token connects and loads the history', async ({ page, herald }) => {
    await herald.publish({ title: 'secret event' });
    await page.goto(herald.url);
    await expect(page.getByTestId('connection')).toHaveText(/Token refused/);
    await page.getByRole('button', { name: 'Open settings' }).click();
    await expect(page.getByLabel('Token')).toBeFocused();
    await page.getByLabel('Token').fill('s3cret-token');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByTestId('saved')).toHaveText('Saved.');
    await expect(page.getByTestId('connection')).toHaveText(/Connected/);
    await page.getByRole('button', { name: /^History/ }).click();
    await expect(rows(page)).toHaveCount(1);
    await herald.publish({ title: 'live secret' });
    await expect(rows(page)).toHaveCount(2);
  });
});

test.describe('with a short retention', () => {
  test.use({ heraldOptions: { retention: { maxEvents: 3 } } });

  test('a gap the server reports shows as a dismissable notice', async ({ page, herald }) => {
    for (let i = 1; i <= 8; i++) await herald.publish({ title: `event ${i}` });
    // This browser saw event 1 long ago; the server now keeps only the newest 3.
    await page.addInitScript(() => {
      if (!sessionStorage.getItem('seeded')) {
        localStorage.setItem('herald.cursor', '1');
        sessionStorage.setItem('seeded', '1');
      }
    });
    await page.goto(herald.url);
    const notice = page.getByTestId('gap-notice');
    await expect(notice).toContainText('4 events were lost');
    await expect(rows(page)).toHaveCount(3);
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await expect(notice).toHaveCount(0);
  });
});

test('a server whose log was replaced shows a reset notice and the new history', async ({ page, herald }) => {
  await herald.publish({ title: 'in the new log' });
  await page.addInitScript(() => {
    if (!sessionStorage.getItem('seeded')) {
      localStorage.setItem('herald.cursor', '500');
      sessionStorage.setItem('seeded', '1');
    }
  });
  await page.goto(herald.url);
  const notice = page.getByTestId('reset-notice');
  await expect(notice).toContainText('reset');
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('in the new log');
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toHaveCount(0);
  await page.reload();
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId('reset-notice')).toHaveCount(0);
});

test('a log replaced while the page is open is told apart by its epoch, even once it has passed the cursor', async ({ page, herald }) => {
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await herald.publish({ title: 'old one' });
  await herald.publish({ title: 'old two' });
  await expect(rows(page)).toHaveCount(2);
  const oldEpoch = await page.evaluate(() => localStorage.getItem('herald.epoch'));
  expect(oldEpoch).toMatch(/^[0-9a-f]{16}$/);

  // The data directory is wiped; the new log gets ids 1 to 3 before the page is back: past its cursor (2).
  await herald.stop();
  await expect(page.getByTestId('connection')).toHaveText(/Reconnecting|Offline/);
  herald.wipe();
  const second = await herald.startSecond();
  for (const title of ['new one', 'new two', 'new three']) await herald.publish({ title }, second.url);
  await second.close();
  await herald.restart();
  await expect(page.getByTestId('connection')).toHaveText(/Connected/, { timeout: 20_000 });
  await expect(page.getByTestId('reset-notice')).toBeVisible();
  await expect(rows(page)).toHaveCount(3);
  await expect(rows(page).first()).toContainText('new three');
  await expect(rows(page).last()).toContainText('new one');
  const newEpoch = await page.evaluate(() => localStorage.getItem('herald.epoch'));
  expect(newEpoch).toMatch(/^[0-9a-f]{16}$/);
  expect(newEpoch).not.toBe(oldEpoch);
  expect(await page.evaluate(() => localStorage.getItem('herald.cursor'))).toBe('3');

  // And after a reload, nothing from the old log comes back.
  await page.reload();
  await expect(rows(page)).toHaveCount(3);
  await expect(page.getByText('old one')).toHaveCount(0);
});

// Web Notifications, recorded by a stand-in for the browser's Notification class. The page counts as
// in the background (document.hasFocus() is false): that is when the web app notifies.
function recordNotifications(permission: string) {
  const g = globalThis as unknown as Record<string, unknown>;
  const shown: Array<{ title: string; body?: string; tag?: string }> = [];
  let asked = 0;
  class RecordedNotification {
    static permission = permission;
    static async requestPermission() {
      asked++;
      RecordedNotification.permission = 'granted';
      return 'granted';
    }
    constructor(title: string, options: { body?: string; tag?: string } = {}) {
      shown.push({ title, body: options.body, tag: options.tag });
    }
    addEventListener() {}
    close() {}
  }
  g.Notification = RecordedNotification;
  g.__notes = { shown, asked: () => asked };
  (g.Document as { prototype: { hasFocus(): boolean } }).prototype.hasFocus = () => false;
}

const notes = (page: import('@playwright/test').Page) =>
  page.evaluate(() => {
    const n = (globalThis as unknown as { __notes: { shown: Array<{ title: string; tag?: string }>; asked(): number } }).__notes;
    return { titles: n.shown.map((s) => s.title), tags: n.shown.map((s) => s.tag), asked: n.asked() };
  });

test('notifications: permission is asked only when the user presses the button', async ({ page, herald }) => {
  await page.addInitScript(recordNotifications, 'default');
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await herald.publish({ title: 'not shown: no permission yet' });
  await expect(rows(page)).toHaveCount(1);
  expect(await notes(page)).toMatchObject({ asked: 0, titles: [] });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Allow notifications' }).click();
  await expect(page.getByTestId('notification-permission')).toHaveText(/This browser shows a notification/);
  await expect(page.getByRole('button', { name: 'Allow notifications' })).toHaveCount(0);
  expect((await notes(page)).asked).toBe(1);
});

test('notifications: muted topics and do-not-disturb are respected; a burst becomes one summary', async ({ page, herald }) => {
  await page.addInitScript(recordNotifications, 'granted');
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Muted topics').fill('noisy');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('saved')).toHaveText('Saved.');

  await herald.publish({ title: 'muted one', topic: 'noisy' });
  await herald.publish({ type: 'job.completed', job: { id: 'j', name: 'build', status: 'succeeded', durationMs: 1000 } });
  await expect.poll(async () => (await notes(page)).titles).toEqual(['✓ build succeeded in 1.0 s']);
  expect((await notes(page)).tags).toEqual(['job:j']);

  await page.getByLabel('Until I turn it off').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('dnd-state')).toHaveText('Quiet until you turn it off.');
  await herald.publish({ title: 'quiet please' });
  await herald.publish({ title: 'Production is down', priority: 5 });
  await expect.poll(async () => (await notes(page)).titles).toEqual(['✓ build succeeded in 1.0 s', 'Production is down']);

  await page.getByLabel('Off', { exact: true }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('dnd-state')).toHaveText('Notifications are on.');
  await Promise.all([1, 2, 3, 4, 5].map((i) => herald.publish({ title: `burst ${i}` })));
  await expect.poll(async () => (await notes(page)).titles.at(-1)).toBe('5 new events');
  expect((await notes(page)).titles).toHaveLength(3);
});

test('changing topics reconnects: only the chosen topics arrive afterwards', async ({ page, herald }) => {
  await page.goto(herald.url);
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Topics', { exact: true }).fill('ci');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('saved')).toHaveText('Saved.');
  await page.getByRole('button', { name: /^History/ }).click();
  await expect(page.getByTestId('connection')).toHaveText(/Connected/);
  await herald.publish({ title: 'elsewhere', topic: 'other' });
  await herald.publish({ title: 'for ci', topic: 'ci' });
  // Events arrive in order: once the second is shown, the first would have been too.
  await expect(page.getByRole('heading', { name: 'for ci' })).toBeVisible();
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByText('elsewhere')).toHaveCount(0);
});
