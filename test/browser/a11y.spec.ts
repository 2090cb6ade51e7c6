// Accessibility (axe) of the main views in light and dark, and screenshots of each for a person to
// look at: test-results/screenshots/<view>-<scheme>.png (not committed).
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, rows, saveScreenshot, test } from './fixtures/herald.ts';
import { desktopSettings, desktopStatus, openDesktopWindow, richHistory } from './fixtures/test-bridge.ts';

async function expectNoSeriousViolations(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

for (const scheme of ['light', 'dark'] as const) {
  test.describe(`${scheme} scheme`, () => {
    test.use({ colorScheme: scheme, viewport: { width: 900, height: 760 } });

    // One view per test: an axe scan and a full-page screenshot each take seconds on a loaded machine.
    test('web: empty state', async ({ page, herald }) => {
      await page.goto(herald.url);
      await expect(page.getByTestId('connection')).toHaveText(/Connected/);
      await expect(page.getByTestId('empty')).toBeVisible();
      await expectNoSeriousViolations(page);
      await saveScreenshot(page, `web-empty-${scheme}`);
    });

    test('web: history with events, one expanded', async ({ page, herald }) => {
      for (const e of richHistory()) {
        const { id: _id, time: _time, ...input } = e;
        await herald.publish(input);
      }
      await page.goto(herald.url);
      await expect(rows(page)).toHaveCount(7);
      await rows(page).filter({ hasText: 'deploy staging' }).getByRole('button', { name: 'Show more' }).click();
      await expectNoSeriousViolations(page);
      await saveScreenshot(page, `web-history-${scheme}`);
    });

    test('web: settings with an error', async ({ page, herald }) => {
      await page.goto(herald.url);
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByLabel('Token').fill('not valid');
      await page.getByRole('button', { name: 'Save' }).click();
      await expect(page.getByTestId('error-token')).toBeVisible();
      await expectNoSeriousViolations(page);
      await saveScreenshot(page, `web-settings-${scheme}`);
    });

    const desktopWindow = (page: Page, url: string) =>
      openDesktopWindow(page, url, {
        settings: desktopSettings({ mutedTopics: ['backup'] }),
        status: desktopStatus({
          unread: 3,
          paused: { until: Date.now() + 3_600_000 },
          gap: { afterId: '10', throughId: '42', missed: 32, time: new Date().toISOString() },
          feed: { status: 'reconnecting', since: Date.now(), attempt: 2, reason: 'connection refused', nextAttemptAt: Date.now() + 4_000 },
        }),
        history: richHistory(),
      });

    test('desktop: history with a pause and a gap, reconnecting', async ({ page, staticSite }) => {
      await desktopWindow(page, staticSite.url);
      await expect(rows(page)).toHaveCount(7);
      await expect(page.getByTestId('gap-notice')).toBeVisible();
      await expectNoSeriousViolations(page);
      await saveScreenshot(page, `desktop-history-${scheme}`);
    });

    test('desktop: settings', async ({ page, staticSite }) => {
      await desktopWindow(page, `${staticSite.url}#settings`);
      await expect(page.getByLabel('CA certificate file')).toBeVisible();
      await expectNoSeriousViolations(page);
      await saveScreenshot(page, `desktop-settings-${scheme}`);
    });
  });
}
