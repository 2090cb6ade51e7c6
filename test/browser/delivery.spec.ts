// The delivery scenarios (test/delivery/scenarios.ts) against the web host: the WebBridge in
// Chromium, alone in a page of the server's origin, as the web app runs it. The FeedClient runs
// the same scenarios under Node (test/feed/delivery.test.ts).
import os from 'node:os';
import path from 'node:path';
import { test, type Page } from '@playwright/test';
import { build, type Rolldown } from 'vite';
import {
  DELIVERY_SCENARIOS,
  DELIVERY_TIMING,
  runScenario,
  type Delivered,
  type DeliveryHost,
  type HostStart,
} from '../delivery/scenarios.ts';
import { repo } from './fixtures/herald.ts';

/** test/renderer/delivery-page.ts as the page sees it (typed here: that file needs the DOM library). */
interface DeliveryPage {
  start(options: Record<string, unknown>): Promise<void>;
  setToken(token: string): Promise<void>;
  delivered(): Promise<Delivered>;
  stop(): void;
}
type WithPage = { heraldDelivery: DeliveryPage };

let script: Promise<string> | undefined;

/** The page side, bundled once per worker (in memory: nothing is written). */
function pageScript(): Promise<string> {
  script ??= (async () => {
    const built = await build({
      configFile: false,
      logLevel: 'warn',
      publicDir: false,
      build: {
        write: false,
        emptyOutDir: false,
        outDir: path.join(os.tmpdir(), 'herald-delivery-page'),
        target: 'es2022',
        minify: false,
        lib: {
          entry: path.join(repo, 'test', 'renderer', 'delivery-page.ts'),
          formats: ['iife'],
          name: 'heraldDeliveryPage',
          fileName: () => 'delivery-page.js',
        },
      },
    });
    const outputs = (Array.isArray(built) ? built : [built]) as Rolldown.RolldownOutput[];
    const chunk = outputs.flatMap((o) => o.output).find((o) => o.type === 'chunk');
    if (!chunk || chunk.type !== 'chunk') throw new Error('vite built no script for test/renderer/delivery-page.ts');
    return chunk.code;
  })();
  return script;
}

/** The thin driver: the page's bridge, read through window.heraldDelivery. */
class WebBridgeHost implements DeliveryHost {
  readonly #page: Page;

  constructor(page: Page) {
    this.#page = page;
  }

  async start(options: HostStart): Promise<void> {
    // A page of the server's origin (same-origin stream and /history, as the web app at `/`), with
    // only the bridge on it: the requests for the page itself never reach the server.
    const code = await pageScript();
    await this.#page.route(`${options.url}/__delivery`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><meta charset="utf-8"><title>delivery</title><script src="/__delivery.js"></script>',
      }),
    );
    await this.#page.route(`${options.url}/__delivery.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: code }));
    await this.#page.goto(`${options.url}/__delivery`);
    await this.#page.evaluate((start) => (globalThis as unknown as WithPage).heraldDelivery.start(start), {
      ...(options.token ? { token: options.token } : {}),
      ...(options.cursor ? { cursor: options.cursor } : {}),
      minBackoffMs: DELIVERY_TIMING.minBackoffMs,
      maxBackoffMs: DELIVERY_TIMING.maxBackoffMs,
      authRetryMs: DELIVERY_TIMING.authRetryMs,
      // A short history, so that dedup must come from the cursor, not from the ids the history holds.
      historyLimit: DELIVERY_TIMING.historyLimit,
      firstLoad: DELIVERY_TIMING.historyLimit,
      // Three of the server's heartbeats, as the FeedClient host's heartbeatTimeoutMs.
      silentBeats: DELIVERY_TIMING.silentAfterMs / DELIVERY_TIMING.heartbeatMs,
    });
  }

  setToken(token: string): Promise<void> {
    return this.#page.evaluate((t) => (globalThis as unknown as WithPage).heraldDelivery.setToken(t), token);
  }

  delivered(): Promise<Delivered> {
    return this.#page.evaluate(() => (globalThis as unknown as WithPage).heraldDelivery.delivered());
  }

  async stop(): Promise<void> {
    await this.#page.evaluate(() => (globalThis as unknown as WithPage).heraldDelivery.stop()).catch(() => {});
  }
}

test.describe('delivery, on the web host (WebBridge in Chromium)', () => {
  for (const scenario of DELIVERY_SCENARIOS) {
    test(scenario.name, async ({ page }) => {
      test.setTimeout(60_000);
      await runScenario(scenario, new WebBridgeHost(page));
    });
  }
});
