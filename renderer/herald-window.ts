// The window: header with the connection's state, notices, and the history or settings view.
// It knows only the HeraldBridge, so the same code runs in the desktop app and in a browser tab.

import type { AppStatus, HeraldBridge, Settings } from '../bridge/contract.ts';
import { RESET_TYPE, compareEventIds } from '../events/event.ts';
import type { HeraldEvent } from '../events/event.ts';
import { h, setText } from './dom.ts';
import { NO_FILTER, buildRows, dayKey, facets, filterRows, groupByDay, isFiltered, rowText } from './history.ts';
import { isNotice } from '../events/event.ts';
import { tomorrowMorning } from '../bridge/settings.ts';
import type { HistoryRow, RowFilter, StatusFilter, TypeFilter } from './history.ts';
import { renderRow } from './rows.ts';
import type { RenderedRow, RowAction } from './rows.ts';
import { renderSettings } from './settings-view.ts';
import type { SettingsView } from './settings-view.ts';
import { describeFeed, describeLocalServer, describePause } from './status.ts';
import { describeError } from '../events/errors.ts';

export interface WindowOptions {
  /** Default Date.now. */
  now?: () => number;
  /** How long the newest events must be on screen before they count as seen. Default 1500 ms. */
  seenAfterMs?: number;
}

type View = 'history' | 'settings';

const DISMISSED_RESET_KEY = 'herald.window.dismissedReset';

export async function mountWindow(root: HTMLElement, bridge: HeraldBridge, options: WindowOptions = {}): Promise<HeraldWindow> {
  // Listen before asking, so nothing that arrives while the first answers are on their way is lost.
  const early: HeraldEvent[] = [];
  let lateStatus: AppStatus | undefined;
  const offEvents = bridge.onEvent((e) => early.push(e));
  const offStatus = bridge.onStatus((s) => (lateStatus = s));
  try {
    const [settings, status, history] = await Promise.all([bridge.getSettings(), bridge.getStatus(), bridge.getHistory()]);
    return new HeraldWindow(root, bridge, settings, lateStatus ?? status, [...history, ...early], options);
  } finally {
    offEvents();
    offStatus();
  }
}

function viewFromHash(): View {
  return location.hash === '#settings' ? 'settings' : 'history';
}

export class HeraldWindow {
  readonly #bridge: HeraldBridge;
  readonly #now: () => number;
  readonly #seenAfterMs: number;
  #settings: Settings;
  #status: AppStatus;
  #events = new Map<string, HeraldEvent>();
  #readUpTo = '0';
  #filter: RowFilter = { ...NO_FILTER };
  #view: View = 'history';
  #rows: HistoryRow[] = [];
  #rendered = new Map<string, RenderedRow>();
  /** Rows the user expanded, by key: they stay open across updates. */
  #expanded = new Set<string>();
  /** One section (heading and feed) per day shown, by DayGroup key. */
  #days = new Map<string, { el: HTMLElement; heading: HTMLElement; feed: HTMLElement }>();
  /** The local day the groups were labelled on ("Today" becomes "Yesterday" at midnight). */
  #renderedDay = '';
  /** The row that holds the list's one tab stop (roving tabindex). */
  #currentKey: string | null = null;
  #seenTimer: ReturnType<typeof setTimeout> | undefined;
  #announceTimer: ReturnType<typeof setTimeout> | undefined;
  #newSinceAnnounce: HeraldEvent[] = [];
  #lastTone = '';

  // Elements built once and updated in place (so focus and screen readers are not disturbed), in
  // the order they are built: a field may use the ones above it, and its handlers run later.

  // The header's parts.
  readonly #statusIcon: HTMLElement = h('span', { class: 'status-icon', 'aria-hidden': 'true' });
  readonly #statusLabel: HTMLElement = h('span', { class: 'status-label' });
  readonly #statusChip: HTMLElement = h('span', { class: 'status-chip', 'data-testid': 'connection' }, this.#statusIcon, this.#statusLabel);
  readonly #statusDetail: HTMLElement = h('span', { class: 'status-detail', 'data-testid': 'connection-detail' });
  readonly #settingsLink: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'link-button', hidden: true, on: { click: () => this.#showView('settings', 'token') } },
    'Open settings',
  );
  readonly #pauseText: HTMLElement = h('span', { class: 'pause-text', 'data-testid': 'paused' });
  readonly #resumeButton: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'small', hidden: true, on: { click: () => void this.#bridge.setPaused(false) } },
    'Resume',
  );
  readonly #pauseSelect: HTMLSelectElement = h(
    'select',
    { class: 'pause-select', 'aria-label': 'Pause notifications', on: { change: () => this.#pauseFromSelect() } },
    h('option', { value: '' }, 'Pause…'),
    h('option', { value: '1h' }, 'Pause for 1 hour'),
    h('option', { value: 'tomorrow' }, 'Pause until tomorrow'),
    h('option', { value: 'forever' }, 'Pause until I resume'),
  );
  readonly #localServer: HTMLElement = h('span', { class: 'local-server', 'data-testid': 'local-server' });
  readonly #unreadBadge: HTMLElement = h('span', { class: 'badge', hidden: true });
  readonly #navHistory: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'nav', on: { click: () => this.#showView('history') } },
    'History',
    this.#unreadBadge,
  );
  readonly #navSettings: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'nav', on: { click: () => this.#showView('settings') } },
    h('span', { 'aria-hidden': 'true', class: 'gear' }, '⚙ '),
    'Settings',
  );
  readonly #notices: HTMLElement = h('div', { class: 'notices', 'aria-label': 'Notices', role: 'region' });

  // The history view's controls.
  readonly #search: HTMLInputElement = h('input', {
    type: 'search',
    class: 'search',
    placeholder: 'Search title and body',
    'aria-label': 'Search title and body',
    on: { input: () => this.#setFilter({ search: this.#search.value }) },
  });
  readonly #topicSelect: HTMLSelectElement = h('select', {
    'aria-label': 'Topic',
    on: { change: () => this.#setFilter({ topic: this.#topicSelect.value }) },
  });
  readonly #typeSelect: HTMLSelectElement = h('select', {
    'aria-label': 'Type',
    on: { change: () => this.#setFilter({ type: this.#typeSelect.value as TypeFilter }) },
  });
  readonly #statusSelect: HTMLSelectElement = h(
    'select',
    { 'aria-label': 'Status', on: { change: () => this.#setFilter({ status: this.#statusSelect.value as StatusFilter }) } },
    h('option', { value: 'all' }, 'Any status'),
    h('option', { value: 'unread' }, 'Unread'),
    h('option', { value: 'running' }, 'Running'),
    h('option', { value: 'succeeded' }, 'Succeeded'),
    h('option', { value: 'failed' }, 'Failed'),
    h('option', { value: 'cancelled' }, 'Cancelled'),
  );
  readonly #markReadButton: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'small', on: { click: () => this.#markAllRead() } },
    'Mark all read',
  );
  readonly #clearButton: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'small danger', on: { click: () => this.#confirmClear() } },
    'Clear history…',
  );
  readonly #count: HTMLElement = h('p', { class: 'count', 'data-testid': 'count' });
  /** The day sections, each a heading and a feed of rows. */
  readonly #list: HTMLElement = h('div', {
    class: 'days',
    on: { keydown: (ev) => this.#onFeedKey(ev), click: (ev) => this.#onFeedClick(ev), focusin: (ev) => this.#onFeedFocus(ev) },
  });
  readonly #noMatch: HTMLElement = h(
    'div',
    { class: 'no-match', hidden: true },
    h('p', null, 'No events match these filters.'),
    h('button', { type: 'button', on: { click: () => this.#clearFilters() } }, 'Clear filters'),
  );
  readonly #announcer: HTMLElement = h('div', {
    class: 'sr-only',
    'aria-live': 'polite',
    'aria-atomic': 'true',
    'data-testid': 'announcer',
  });

  // Built in the constructor's steps: they say what the host is and where its server is.
  readonly #empty: HTMLElement;
  readonly #historySection: HTMLElement;
  readonly #confirm: HTMLDialogElement;
  readonly #main: HTMLElement;
  #settingsView: SettingsView | null = null;

  constructor(
    root: HTMLElement,
    bridge: HeraldBridge,
    settings: Settings,
    status: AppStatus,
    history: HeraldEvent[],
    options: WindowOptions,
  ) {
    this.#bridge = bridge;
    this.#now = options.now ?? Date.now;
    this.#seenAfterMs = options.seenAfterMs ?? 1500;
    this.#settings = settings;
    this.#status = status;
    for (const e of history) this.#events.set(e.id, e);
    this.#readUpTo = this.#initialReadUpTo(status.unread);
    const desktop = bridge.host === 'desktop';
    document.documentElement.dataset.host = bridge.host;
    this.#empty = this.#renderEmpty();
    this.#historySection = this.#historyView();
    this.#confirm = this.#confirmDialog(desktop);
    this.#main = h('main', { id: 'main', tabindex: -1 }, this.#historySection);
    root.replaceChildren(this.#header(desktop), this.#notices, this.#main, this.#confirm, this.#announcer);
    this.#listen();
    this.#renderStatus();
    this.#renderNotices();
    this.#renderHistory();
    this.#scheduleSeen();
    if (viewFromHash() === 'settings') this.#showView('settings');
  }

  // --- the window's parts -------------------------------------------------------------------

  /** The top bar: the two views, the connection's state and, on the desktop, the local server and the pause. */
  #header(desktop: boolean): HTMLElement {
    this.#navHistory.setAttribute('aria-current', 'page');
    return h(
      'header',
      { class: 'topbar' },
      h('h1', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'), 'Herald'),
      h('nav', { class: 'views', 'aria-label': 'Views' }, this.#navHistory, this.#navSettings),
      h(
        'div',
        { class: 'connection', role: 'group', 'aria-label': 'Connection' },
        this.#statusChip,
        this.#statusDetail,
        this.#settingsLink,
        desktop ? this.#localServer : null,
      ),
      h('div', { class: 'pause' }, desktop ? [this.#pauseText, this.#resumeButton, this.#pauseSelect] : null),
    );
  }

  /** The history view: the filters, the count and its actions, the days, and what shows when none is shown. */
  #historyView(): HTMLElement {
    return h(
      'section',
      { class: 'history', 'aria-labelledby': 'history-heading' },
      h(
        'div',
        { class: 'toolbar' },
        h('h2', { id: 'history-heading', class: 'view-heading' }, 'History'),
        h(
          'div',
          { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
          this.#search,
          this.#topicSelect,
          this.#typeSelect,
          this.#statusSelect,
        ),
      ),
      h('div', { class: 'summary' }, this.#count, h('div', { class: 'actions' }, this.#markReadButton, this.#clearButton)),
      this.#list,
      this.#noMatch,
      this.#empty,
    );
  }

  /** Asks before clearing the history; the answer comes back as the dialog's returnValue. */
  #confirmDialog(desktop: boolean): HTMLDialogElement {
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, 'Clear the history?'),
        h(
          'p',
          null,
          desktop
            ? 'Every event is removed from this window. The server keeps its own log.'
            : 'Every event is removed from this browser. The server keeps its own log.',
        ),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel'),
          h('button', { type: 'submit', value: 'clear', class: 'danger' }, 'Clear history'),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'clear') void this.#bridge.clearHistory();
      this.#clearButton.focus();
    });
    return dialog;
  }

  /** Follows the host (events, status, a cleared history), the clock, the window's focus and the URL's fragment. */
  #listen(): void {
    this.#bridge.onEvent((event) => this.#onEvent(event));
    this.#bridge.onStatus((s) => this.#onStatus(s));
    this.#bridge.onHistoryCleared(() => {
      this.#events.clear();
      this.#readUpTo = '0';
      this.#renderHistory();
    });
    setInterval(() => this.#tick(), 1000);
    addEventListener('focus', () => this.#scheduleSeen());
    document.addEventListener('visibilitychange', () => this.#scheduleSeen());
    // The desktop host opens the window at #history or #settings (the tray's "Settings…"); the
    // fragment and the view follow each other.
    addEventListener('hashchange', () => this.#showView(viewFromHash()));
  }

  // --- data in ------------------------------------------------------------------------------

  #onEvent(event: HeraldEvent): void {
    if (this.#events.has(event.id) && event.type !== RESET_TYPE) return;
    this.#events.set(event.id, event);
    if (isNotice(event)) {
      this.#renderNotices();
      return;
    }
    this.#newSinceAnnounce.push(event);
    if (this.#announceTimer === undefined) this.#announceTimer = setTimeout(() => this.#announceNew(), 800);
    this.#renderHistory();
    this.#scheduleSeen();
  }

  #onStatus(status: AppStatus): void {
    const cleared = status.unread === 0 && this.#status.unread > 0;
    this.#status = status;
    if (cleared) {
      // Read elsewhere (the tray, another window): everything so far counts as seen.
      this.#readUpTo = this.#newestId();
      this.#renderHistory();
    }
    this.#renderStatus();
    this.#renderNotices();
    this.#settingsView?.update(this.#settings, status);
  }

  #initialReadUpTo(unread: number): string {
    const ids = this.#rowEventIds().sort((a, b) => compareEventIds(b, a));
    if (unread <= 0) return ids[0] ?? '0';
    return ids[unread] ?? '0';
  }

  #rowEventIds(): string[] {
    return [...this.#events.values()].filter((e) => !isNotice(e)).map((e) => e.id);
  }

  #newestId(): string {
    let newest = '0';
    for (const id of this.#rowEventIds()) if (compareEventIds(id, newest) > 0) newest = id;
    return newest;
  }

  #isUnread = (row: HistoryRow): boolean => compareEventIds(row.latest.id, this.#readUpTo) > 0;

  // --- seen / unread ------------------------------------------------------------------------

  #scheduleSeen(): void {
    clearTimeout(this.#seenTimer);
    if (this.#view !== 'history' || document.visibilityState !== 'visible' || !document.hasFocus()) return;
    if (compareEventIds(this.#newestId(), this.#readUpTo) <= 0) return;
    this.#seenTimer = setTimeout(() => {
      if (this.#view === 'history' && document.visibilityState === 'visible' && document.hasFocus()) this.#markAllRead();
    }, this.#seenAfterMs);
  }

  #markAllRead(): void {
    const newest = this.#newestId();
    if (compareEventIds(newest, this.#readUpTo) <= 0) return;
    this.#readUpTo = newest;
    void this.#bridge.markRead(newest);
    this.#renderHistory();
  }

  #announceNew(): void {
    this.#announceTimer = undefined;
    const events = this.#newSinceAnnounce;
    this.#newSinceAnnounce = [];
    if (events.length === 0) return;
    const first = events[0]!;
    this.#announce(events.length === 1 ? `New event: ${first.title}` : `${events.length} new events. Newest: ${events.at(-1)!.title}`);
  }

  #announce(text: string): void {
    // Cleared first so that the same words twice are read twice.
    this.#announcer.textContent = '';
    requestAnimationFrame(() => setText(this.#announcer, text));
  }

  // --- header -------------------------------------------------------------------------------

  #renderStatus(): void {
    const now = this.#now();
    const line = describeFeed(this.#status, now);
    this.#statusChip.className = `status-chip tone-${line.tone}`;
    this.#statusChip.dataset.status = this.#status.feed.status;
    setText(this.#statusIcon, line.icon);
    setText(this.#statusLabel, line.label);
    setText(this.#statusDetail, line.detail);
    this.#statusDetail.hidden = line.detail === '';
    this.#settingsLink.hidden = !line.needsSettings;
    if (this.#lastTone !== '' && this.#lastTone !== line.label) this.#announce(`${line.label}. ${line.detail}`);
    this.#lastTone = line.label;

    const pause = describePause(this.#status, now);
    setText(this.#pauseText, pause);
    this.#pauseText.hidden = pause === '';
    this.#resumeButton.hidden = pause === '';
    this.#pauseSelect.hidden = pause !== '';

    const local = describeLocalServer(this.#status.localServer, now);
    this.#localServer.className = `local-server tone-${local.tone}`;
    setText(this.#localServer, local.text);

    // Rows, not events: a job's three events are one unread entry, as the list shows it.
    const unread = this.#rows.filter(this.#isUnread).length;
    setText(this.#unreadBadge, unread > 99 ? '99+' : String(unread));
    this.#unreadBadge.hidden = unread === 0;
    this.#unreadBadge.setAttribute('aria-label', `${unread} unread`);
    document.title = unread > 0 ? `(${unread}) Herald` : 'Herald';
  }

  #pauseFromSelect(): void {
    const choice = this.#pauseSelect.value;
    this.#pauseSelect.value = '';
    const now = this.#now();
    const until =
      choice === '1h' ? now + 3_600_000 : choice === 'tomorrow' ? tomorrowMorning(now) : choice === 'forever' ? null : undefined;
    if (until !== undefined) void this.#bridge.setPaused(until);
  }

  #renderNotices(): void {
    const items: HTMLElement[] = [];
    const gap = this.#status.gap;
    if (gap) {
      items.push(
        h(
          'div',
          { class: 'notice warn', 'data-testid': 'gap-notice' },
          h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '⚠'),
          h(
            'p',
            null,
            `${gap.missed} ${gap.missed === 1 ? 'event was' : 'events were'} lost while Herald was away: the server no longer kept them.`,
          ),
          h(
            'button',
            { type: 'button', class: 'small', on: { click: () => void this.#dismiss(() => this.#bridge.dismissGap()) } },
            'Dismiss',
          ),
        ),
      );
    }
    const reset = [...this.#events.values()].filter((e) => e.type === RESET_TYPE).at(-1);
    if (reset && localStorage.getItem(DISMISSED_RESET_KEY) !== reset.time) {
      items.push(
        h(
          'div',
          { class: 'notice warn', 'data-testid': 'reset-notice' },
          h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '↺'),
          h('p', null, `${reset.title}. The history below starts again from the server's new log.`),
          h(
            'button',
            {
              type: 'button',
              class: 'small',
              on: {
                click: () =>
                  void this.#dismiss(async () => {
                    localStorage.setItem(DISMISSED_RESET_KEY, reset.time);
                    this.#renderNotices();
                  }),
              },
            },
            'Dismiss',
          ),
        ),
      );
    }
    this.#notices.replaceChildren(...items);
    this.#notices.hidden = items.length === 0;
  }

  async #dismiss(action: () => Promise<void>): Promise<void> {
    await action();
    this.#main.focus();
  }

  // --- views --------------------------------------------------------------------------------

  #showView(view: View, focusField?: string): void {
    this.#view = view;
    if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
    this.#navHistory.setAttribute('aria-current', view === 'history' ? 'page' : 'false');
    this.#navSettings.setAttribute('aria-current', view === 'settings' ? 'page' : 'false');
    if (view === 'settings') {
      void this.#openSettings(focusField);
    } else {
      this.#settingsView = null;
      this.#main.replaceChildren(this.#historySection);
      this.#renderHistory();
      this.#main.focus();
      this.#scheduleSeen();
    }
  }

  async #openSettings(focusField?: string): Promise<void> {
    this.#settings = await this.#bridge.getSettings();
    const view = renderSettings({
      bridge: this.#bridge,
      settings: this.#settings,
      status: this.#status,
      now: this.#now,
      onSaved: (s) => {
        this.#settings = s;
        // The teaching commands name the server and whether a token is needed.
        this.#empty.replaceChildren(...this.#renderEmpty().childNodes);
      },
      onClose: () => this.#showView('history'),
    });
    this.#settingsView = view;
    this.#main.replaceChildren(view.el);
    view.focus(focusField);
  }

  // --- history ------------------------------------------------------------------------------

  #setFilter(change: Partial<RowFilter>): void {
    this.#filter = { ...this.#filter, ...change };
    this.#renderHistory();
  }

  #clearFilters(): void {
    this.#filter = { ...NO_FILTER };
    this.#search.value = '';
    this.#renderHistory();
    this.#search.focus();
  }

  #renderFilterOptions(): void {
    const { topics, customTypes } = facets([...this.#events.values()]);
    const topic = this.#filter.topic;
    if (topic !== '' && !topics.includes(topic)) topics.push(topic);
    const wantTopics = ['', ...topics].join('\n');
    if (this.#topicSelect.dataset.options !== wantTopics) {
      this.#topicSelect.replaceChildren(h('option', { value: '' }, 'All topics'), ...topics.map((t) => h('option', { value: t }, t)));
      this.#topicSelect.dataset.options = wantTopics;
    }
    this.#topicSelect.value = topic;
    const type = this.#filter.type;
    const custom = customTypes.map((t) => `type:${t}`);
    if (type.startsWith('type:') && !custom.includes(type)) custom.push(type);
    const wantTypes = custom.join('\n');
    if (this.#typeSelect.dataset.options !== wantTypes || this.#typeSelect.options.length === 0) {
      this.#typeSelect.replaceChildren(
        h('option', { value: 'all' }, 'All types'),
        h('option', { value: 'job' }, 'Jobs'),
        h('option', { value: 'notification' }, 'Notifications'),
        ...custom.map((t) => h('option', { value: t }, t.slice(5))),
      );
      this.#typeSelect.dataset.options = wantTypes;
    }
    this.#typeSelect.value = type;
    this.#statusSelect.value = this.#filter.status;
  }

  #renderHistory(): void {
    this.#rows = buildRows([...this.#events.values()]);
    if (this.#view !== 'history') {
      this.#renderStatus();
      return;
    }
    const now = this.#now();
    const visible = filterRows(this.#rows, this.#filter, this.#isUnread);
    this.#renderFilterOptions();

    const hasEvents = this.#rows.length > 0;
    this.#empty.hidden = hasEvents;
    this.#list.hidden = visible.length === 0;
    this.#noMatch.hidden = !hasEvents || visible.length > 0;
    this.#historySection.classList.toggle('is-empty', !hasEvents);
    this.#clearButton.disabled = !hasEvents;
    const unread = this.#rows.filter(this.#isUnread).length;
    this.#markReadButton.hidden = unread === 0;
    this.#renderStatus();
    setText(
      this.#count,
      !hasEvents
        ? ''
        : isFiltered(this.#filter)
          ? `${visible.length} of ${this.#rows.length} shown`
          : `${this.#rows.length} ${this.#rows.length === 1 ? 'entry' : 'entries'}${unread ? `, ${unread} unread` : ''}`,
    );

    // Keyed update: rows that did not change keep their element (and focus); new ones are built.
    const focusedKey = (document.activeElement as HTMLElement | null)?.closest?.('.row')?.getAttribute('data-key') ?? null;
    const keep = new Map<string, RenderedRow>();
    const keepDays = new Map<string, { el: HTMLElement; heading: HTMLElement; feed: HTMLElement }>();
    this.#renderedDay = dayKey(now);
    for (const key of [...this.#expanded]) if (!visible.some((r) => r.key === key)) this.#expanded.delete(key);
    if (this.#currentKey === null || !visible.some((r) => r.key === this.#currentKey)) this.#currentKey = visible[0]?.key ?? null;
    const sections: HTMLElement[] = [];
    for (const group of groupByDay(visible, now)) {
      const day = this.#days.get(group.key) ?? this.#daySection(group.key);
      keepDays.set(group.key, day);
      setText(day.heading, group.label);
      day.feed.setAttribute('aria-label', `${group.label}, newest first`);
      const els: HTMLElement[] = [];
      for (const row of group.rows) {
        const unreadRow = this.#isUnread(row);
        let rendered = this.#rendered.get(row.key);
        if (!rendered || rendered.signature !== `${row.latest.id}|${unreadRow ? 'u' : 'r'}`)
          rendered = renderRow(row, unreadRow, now, this.#expanded.has(row.key));
        keep.set(row.key, rendered);
        els.push(rendered.el);
      }
      placeChildren(day.feed, els, (el, i) => {
        el.setAttribute('aria-posinset', String(i + 1));
        el.setAttribute('aria-setsize', String(els.length));
        el.tabIndex = el.dataset.key === this.#currentKey ? 0 : -1;
      });
      sections.push(day.el);
    }
    this.#rendered = keep;
    this.#days = keepDays;
    placeChildren(this.#list, sections);
    if (focusedKey && !this.#list.contains(document.activeElement)) keep.get(focusedKey)?.el.focus();
  }

  #daySection(key: string): { el: HTMLElement; heading: HTMLElement; feed: HTMLElement } {
    const id = `day-${key.replace(/[^0-9A-Za-z-]/g, '-')}`;
    const heading = h('h3', { class: 'day-heading', id });
    const feed = h('div', { role: 'feed', class: 'feed', 'aria-busy': 'false' });
    return { el: h('section', { class: 'day', 'aria-labelledby': id }, heading, feed), heading, feed };
  }

  #rowElements(): HTMLElement[] {
    return [...this.#list.querySelectorAll<HTMLElement>('.row')];
  }

  #onFeedFocus(ev: FocusEvent): void {
    const row = (ev.target as HTMLElement).closest<HTMLElement>('.row');
    if (!row) return;
    this.#currentKey = row.dataset.key ?? null;
    for (const el of this.#rowElements()) el.tabIndex = el === row ? 0 : -1;
  }

  #onFeedKey(ev: KeyboardEvent): void {
    const target = ev.target as HTMLElement;
    const row = target.closest<HTMLElement>('.row');
    if (!row) return;
    const rows = this.#rowElements();
    const i = rows.indexOf(row);
    let next: HTMLElement | undefined;
    switch (ev.key) {
      case 'ArrowDown':
      case 'PageDown':
        next = rows[Math.min(rows.length - 1, i + (ev.key === 'PageDown' ? 10 : 1))];
        break;
      case 'ArrowUp':
      case 'PageUp':
        next = rows[Math.max(0, i - (ev.key === 'PageUp' ? 10 : 1))];
        break;
      case 'Home':
        next = rows[0];
        break;
      case 'End':
        next = rows.at(-1);
        break;
      case 'Enter':
      case ' ':
        // On a button in the row, the button's own action; on the row, expand or collapse it.
        if (target !== row) return;
        ev.preventDefault();
        this.#toggle(row, true);
        return;
      default:
        return;
    }
    ev.preventDefault();
    next?.focus();
  }

  #onFeedClick(ev: MouseEvent): void {
    const target = ev.target as HTMLElement;
    const rowEl = target.closest<HTMLElement>('.row');
    if (!rowEl) return;
    const button = target.closest<HTMLButtonElement>('button[data-action]');
    if (button) {
      void this.#rowAction(rowEl, button.dataset.action as RowAction, button);
      return;
    }
    // Selecting text in a row is not a click on it.
    if (!window.getSelection()?.toString()) this.#toggle(rowEl, true);
  }

  /** Expands or collapses a row; `announce` when the disclosure button itself was not used (it says its own state). */
  #toggle(el: HTMLElement, announce: boolean): void {
    const key = el.dataset.key ?? '';
    const rendered = this.#rendered.get(key);
    if (!rendered?.expandable) return;
    const on = !this.#expanded.has(key);
    if (on) this.#expanded.add(key);
    else this.#expanded.delete(key);
    rendered.setExpanded(on);
    if (announce) this.#announce(on ? 'Expanded' : 'Collapsed');
  }

  async #rowAction(el: HTMLElement, action: RowAction, button: HTMLButtonElement): Promise<void> {
    const row = this.#rows.find((r) => r.key === el.dataset.key);
    if (!row) return;
    switch (action) {
      case 'toggle':
        this.#toggle(el, false);
        return;
      case 'copy':
        this.#copy(rowText(row, this.#now()), button, 'Copy', 'the entry');
        return;
      case 'open':
        if (row.url) await this.#bridge.openUrl(row.url);
        return;
      case 'read':
        this.#markReadUpTo(row.latest.id);
        return;
      case 'delete':
        await this.#delete(row, el);
        return;
    }
  }

  /** Read up to this id (the read mark is one id: this entry and every earlier one). */
  #markReadUpTo(id: string): void {
    if (compareEventIds(id, this.#readUpTo) <= 0) return;
    this.#readUpTo = id;
    void this.#bridge.markRead(id);
    this.#renderHistory();
  }

  /** Removes the entry from this history (the host's copy, not the server's log); focus goes to its neighbour. */
  async #delete(row: HistoryRow, el: HTMLElement): Promise<void> {
    const ids = row.kind === 'job' ? row.events.map((e) => e.id) : [row.latest.id];
    const els = this.#rowElements();
    const at = els.indexOf(el);
    const neighbour = (els[at + 1] ?? els[at - 1])?.dataset.key;
    try {
      await this.#bridge.deleteEvents(ids);
    } catch (err) {
      this.#announce(`Could not delete: ${describeError(err)}`);
      return;
    }
    for (const id of ids) this.#events.delete(id);
    this.#expanded.delete(row.key);
    if (neighbour !== undefined) this.#currentKey = neighbour;
    this.#renderHistory();
    const next = neighbour !== undefined ? this.#rendered.get(neighbour)?.el : undefined;
    (next ?? this.#main).focus();
    this.#announce(`Deleted ${row.kind === 'job' ? row.name : row.latest.title}`);
  }

  /** Copies text, saying so on the button; without clipboard access, selects `selectOnFail` so Ctrl+C copies it. */
  #copy(text: string, button: HTMLButtonElement, label: string, what: string, selectOnFail?: Node): void {
    const done = (said: string) => {
      setText(button, said);
      this.#announce(said === 'Copied' ? `Copied ${what}` : said);
      setTimeout(() => setText(button, label), 2000);
    };
    const failed = () => {
      if (selectOnFail) {
        getSelection()?.selectAllChildren(selectOnFail);
        done('Press Ctrl+C');
      } else {
        done('Could not copy');
      }
    };
    if (!navigator.clipboard) return failed();
    navigator.clipboard.writeText(text).then(() => done('Copied'), failed);
  }

  #confirmClear(): void {
    this.#confirm.returnValue = '';
    this.#confirm.showModal();
  }

  #renderEmpty(): HTMLElement {
    const server = this.#bridge.host === 'web' ? location.origin : this.#settings.serverUrl;
    const auth = this.#settings.token ? ' -H "Authorization: Bearer $HERALD_TOKEN"' : '';
    const example = (label: string, command: string) => {
      const code = h('code', null, command);
      const button = h('button', { type: 'button', class: 'small copy', 'aria-label': `Copy: ${label}` }, 'Copy');
      button.addEventListener('click', () => this.#copy(command, button, 'Copy', label, code));
      return h(
        'div',
        { class: 'example' },
        h('p', { class: 'example-label' }, label),
        h('div', { class: 'command' }, h('pre', null, code), button),
      );
    };
    // Commands that work as written: `npx herald` would ask the npm registry for someone else's package.
    return h(
      'div',
      { class: 'empty', 'data-testid': 'empty' },
      h('h3', null, 'No events yet'),
      h('p', null, 'Herald shows what your jobs and scripts publish. Send a first event from a terminal:'),
      example('Send a notification with curl', `curl${auth} -d "build done" ${server}/events`),
      example('Wrap a long command, from the Herald repository', 'npm run herald -- run -- make'),
      example('…or from anywhere, once herald is on your PATH (npm link)', 'herald run -- make'),
      h('p', { class: 'hint' }, 'A job shows here as it runs, with its duration and exit code when it ends.'),
    );
  }

  // --- time ---------------------------------------------------------------------------------

  #tick(): void {
    const now = this.#now();
    if (this.#view === 'history' && this.#renderedDay !== '' && dayKey(now) !== this.#renderedDay) this.#renderHistory();
    this.#renderStatus();
    for (const r of this.#rendered.values()) r.tick(now);
    this.#settingsView?.tick(now);
  }
}

/** Makes `parent`'s children exactly `els`, in order, moving only what is out of place (focus stays put). */
function placeChildren(parent: HTMLElement, els: HTMLElement[], each?: (el: HTMLElement, i: number) => void): void {
  els.forEach((el, i) => {
    each?.(el, i);
    const at = parent.children[i];
    if (at !== el) parent.insertBefore(el, at ?? null);
  });
  while (parent.children.length > els.length) parent.lastElementChild!.remove();
}
