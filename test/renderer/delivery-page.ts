// The page side of the web bridge's delivery driver (test/browser/delivery.spec.ts): a WebBridge
// alone in a page of the server's origin, and what it handed its onEvent and onStatus listeners.
// Bundled by the spec and run in Chromium; the spec reads it through `window.heraldDelivery`.
import { RESET_TYPE, isNotice } from '../../events/event.ts';
import type { FeedState } from '../../events/feed-state.ts';
import { WebBridge, type WebBridgeOptions } from '../../renderer/web-bridge.ts';

/** What the spec's driver reads; the same shape as Delivered in test/delivery/scenarios.ts. */
export interface PageDelivered {
  titles: string[];
  gaps: { afterId: string; throughId: string; missed: number }[];
  resets: number;
  state: FeedState;
  states: FeedState[];
  cursor: { lastEventId: string; epoch?: string } | undefined;
}

export interface DeliveryPage {
  /** A saved token and cursor are put where a page that ran before would have left them. */
  start(options: WebBridgeOptions & { token?: string; cursor?: { lastEventId: string; epoch?: string } }): Promise<void>;
  setToken(token: string): Promise<void>;
  delivered(): Promise<PageDelivered>;
  stop(): void;
}

let bridge: WebBridge | undefined;
const titles: string[] = [];
const gaps: PageDelivered['gaps'] = [];
const states: FeedState[] = [];
let resets = 0;
let state: FeedState | undefined;

const page: DeliveryPage = {
  async start(options) {
    const { token, cursor, ...bridgeOptions } = options;
    if (token) localStorage.setItem('herald.settings', JSON.stringify({ token }));
    if (cursor) localStorage.setItem('herald.cursor', cursor.lastEventId);
    if (cursor?.epoch) localStorage.setItem('herald.epoch', cursor.epoch);
    bridge = new WebBridge(bridgeOptions);
    bridge.onEvent((event) => {
      if (event.type === RESET_TYPE) resets++;
      else if (!isNotice(event)) titles.push(event.title);
    });
    // The web bridge shows a gap in its status rather than as an event: each new one is recorded.
    bridge.onStatus((status) => {
      const gap = status.gap;
      const last = gaps.at(-1);
      if (gap && (last?.afterId !== gap.afterId || last.throughId !== gap.throughId))
        gaps.push({ afterId: gap.afterId, throughId: gap.throughId, missed: gap.missed });
      if (state?.status !== status.feed.status || state.reason !== status.feed.reason) states.push(status.feed);
      state = status.feed;
    });
    bridge.start();
  },
  async setToken(token) {
    const result = await bridge!.saveSettings({ token });
    if (!result.ok) throw new Error(`the bridge refused the token: ${JSON.stringify(result.errors)}`);
  },
  async delivered() {
    const status = await bridge!.getStatus();
    const lastEventId = localStorage.getItem('herald.cursor');
    const epoch = localStorage.getItem('herald.epoch');
    return {
      titles: [...titles],
      gaps: [...gaps],
      resets,
      state: status.feed,
      states: [...states],
      cursor: lastEventId === null ? undefined : { lastEventId, ...(epoch ? { epoch } : {}) },
    };
  },
  stop() {
    bridge?.stop();
  },
};

(globalThis as unknown as { heraldDelivery: DeliveryPage }).heraldDelivery = page;
