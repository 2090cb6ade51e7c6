import { defineConfig } from '@playwright/test';

// Browser tests run in Debian's Chromium (Playwright never downloads a browser here). The window
// UI is built once by the global setup; each spec file starts its own real server on port 0.
export default defineConfig({
  globalSetup: './test/browser/global-setup.ts',
  outputDir: 'test-results/playwright',
  workers: 2,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    trace: 'off',
    screenshot: 'off',
  },
  projects: [
    { name: 'browser', testDir: './test/browser', testMatch: '**/*.spec.ts' },
    // The desktop app's end-to-end tests: they skip themselves when no Electron binary exists.
    { name: 'electron', testDir: './test/e2e', testMatch: '**/*.spec.ts' },
  ],
});
