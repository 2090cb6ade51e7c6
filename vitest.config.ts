import { defineConfig } from 'vitest/config';

// Unit and integration tests under Node. Browser tests (test/browser/*.spec.ts) run under
// @playwright/test in Debian's Chromium; see playwright.config.ts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The built app (dist/) is fresh before any test reads it (the packed-app and electronegativity tests).
    globalSetup: ['./test/main/built-app.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers and child processes: two cores, so keep it to two workers.
    maxWorkers: 2,
  },
});
