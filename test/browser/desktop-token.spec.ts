// The settings view and the desktop app's stored token: the token never comes back to the window
// (it shows TOKEN_KEPT), saving sends that back unchanged, and where no system keychain protects
// the token on disk the view says so.
import { TOKEN_KEPT } from '../../bridge/contract.ts';
import { expect, test } from './fixtures/herald.ts';
import { bridgeCalls, desktopSettings, desktopStatus, openDesktopWindow } from './fixtures/test-bridge.ts';

test('a stored token shows as kept, and Save sends it back as kept (the host keeps it)', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, {
    settings: desktopSettings({ token: TOKEN_KEPT }),
    status: desktopStatus({ tokenStorage: 'os' }),
    history: [],
  });
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('Token')).toHaveValue(TOKEN_KEPT);
  await expect(page.locator('#set-token-hint')).toHaveText('Only for a server started with --token. Leave empty otherwise.');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('error-token')).toBeEmpty();
  await expect.poll(() => bridgeCalls(page, 'saveSettings')).toHaveLength(1);
  expect((await bridgeCalls(page, 'saveSettings'))[0]!.args[0]).toMatchObject({ token: TOKEN_KEPT });
});

test('without a system keyring the view says the token is only obfuscated', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, {
    settings: desktopSettings(),
    status: desktopStatus({ tokenStorage: 'weak' }),
    history: [],
  });
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.locator('#set-token-hint')).toContainText(
    'no keyring (GNOME Keyring or KWallet): the token is only obfuscated on disk',
  );
});

test('without any keychain the view says the token is kept as plain text', async ({ page, staticSite }) => {
  await openDesktopWindow(page, staticSite.url, {
    settings: desktopSettings(),
    status: desktopStatus({ tokenStorage: 'plain' }),
    history: [],
  });
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.locator('#set-token-hint')).toContainText('stored on disk as plain text');
});
