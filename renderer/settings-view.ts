// The settings form. Each field is checked with the same validateSettingsPatch the host runs, and
// its message shows next to it; errors the host returns on save are shown the same way.

import type { AppStatus, HeraldBridge, Settings, SettingsErrors, SettingsPatch, TokenStorage } from '../bridge/contract.ts';
import { tomorrowMorning, validateSettingsPatch } from '../bridge/settings.ts';
import { h, setText } from './dom.ts';
import { clockTime, parseTopicList } from './history.ts';
import { describeLocalServer } from './status.ts';
import { describeError } from '../events/errors.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';

export interface SettingsContext {
  bridge: HeraldBridge;
  settings: Settings;
  status: AppStatus;
  now: () => number;
  onSaved(settings: Settings): void;
  onClose(): void;
}

export interface SettingsView {
  el: HTMLElement;
  /** Focus the first field, or the named one (e.g. 'token' when the server refused it). */
  focus(field?: string): void;
  update(settings: Settings, status: AppStatus): void;
  tick(now: number): void;
}

type FieldName = 'serverUrl' | 'token' | 'caFile' | 'topics' | 'mutedTopics' | 'doNotDisturb' | 'launchAtLogin' | 'runLocalServer';
type DndChoice = 'off' | 'current' | '1h' | 'tomorrow' | 'forever';

interface Field {
  wrap: HTMLElement;
  input: HTMLElement;
  error: HTMLElement;
}

/** The desktop app says so when the token is not protected by a system keychain on disk. */
function tokenStorageNote(storage: TokenStorage | undefined): string {
  if (storage === 'weak') return ' This system has no keyring (GNOME Keyring or KWallet): the token is only obfuscated on disk, not encrypted.';
  if (storage === 'plain') return ' No system keychain is available: the token is stored on disk as plain text.';
  return '';
}

export function renderSettings(ctx: SettingsContext): SettingsView {
  const desktop = ctx.bridge.host === 'desktop';
  const s = ctx.settings;
  const fields = new Map<FieldName, Field>();

  const errorEl = (name: string) => h('p', { class: 'field-error', id: `set-${name}-error`, 'data-testid': `error-${name}` });

  function textField(name: FieldName, label: string, value: string, hint: string, attrs: Record<string, string | boolean> = {}): HTMLElement {
    const error = errorEl(name);
    const input = h('input', {
      id: `set-${name}`,
      name,
      type: 'text',
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': `set-${name}-hint set-${name}-error`,
      ...attrs,
    });
    input.value = value;
    // Checked on Save, then again as the user types a fix. Not on blur: a message appearing on
    // blur moves the Save button away from under the pointer between mousedown and click.
    input.addEventListener('input', () => {
      if (input.getAttribute('aria-invalid') === 'true') checkOne(name);
    });
    const wrap = h('div', { class: 'field' }, h('label', { for: `set-${name}` }, label), input, h('p', { class: 'hint', id: `set-${name}-hint` }, hint), error);
    fields.set(name, { wrap, input, error });
    return wrap;
  }

  function checkbox(name: FieldName, label: string, checked: boolean, hint: string): HTMLInputElement {
    const error = errorEl(name);
    const input = h('input', { id: `set-${name}`, name, type: 'checkbox', 'aria-describedby': `set-${name}-hint set-${name}-error` });
    input.checked = checked;
    const wrap = h('div', { class: 'field check' }, input, h('label', { for: `set-${name}` }, label), h('p', { class: 'hint', id: `set-${name}-hint` }, hint), error);
    fields.set(name, { wrap, input, error });
    return input;
  }

  // --- server ---
  const serverUrl = textField(
    'serverUrl',
    'Server address',
    desktop ? s.serverUrl : location.origin,
    desktop ? `The companion server, e.g. ${DEFAULT_SERVER_URL} or a team server.` : 'This page always uses the server it was loaded from.',
    desktop ? { type: 'url', inputmode: 'url' } : { readonly: true },
  );
  const token = textField('token', 'Token', s.token, `Only for a server started with --token. Leave empty otherwise.${tokenStorageNote(ctx.status.tokenStorage)}`, { type: 'password', autocomplete: 'off' });
  const caFile = desktop ? textField('caFile', 'CA certificate file', s.caFile, "A PEM file with the CA that signed a private server's certificate. Empty: the system's CAs only.") : null;
  const topics = textField('topics', 'Topics', s.topics.join(', '), 'Separate with commas or spaces. Empty: every topic.');

  // --- notifications ---
  const now0 = ctx.now();
  const dnd = s.doNotDisturb;
  const timed = dnd.enabled && dnd.until !== null && dnd.until > now0;
  let choice: DndChoice = !dnd.enabled || (dnd.until !== null && dnd.until <= now0) ? 'off' : dnd.until === null ? 'forever' : 'current';
  const radio = (value: DndChoice, label: string) => {
    const input = h('input', { type: 'radio', name: 'dnd', id: `dnd-${value}`, value });
    input.checked = value === choice;
    input.addEventListener('change', () => {
      choice = value;
      checkOne('doNotDisturb');
      renderDndState(ctx.now());
    });
    return h('div', { class: 'radio' }, input, h('label', { for: `dnd-${value}` }, label));
  };
  const allowUrgent = h('input', { type: 'checkbox', id: 'dnd-urgent', name: 'allowUrgent' });
  allowUrgent.checked = dnd.allowUrgent;
  const dndState = h('p', { class: 'hint', id: 'set-doNotDisturb-hint', 'data-testid': 'dnd-state' });
  const dndError = errorEl('doNotDisturb');
  const dndFieldset = h(
    'fieldset',
    { class: 'field dnd', 'aria-describedby': 'set-doNotDisturb-hint set-doNotDisturb-error' },
    h('legend', null, 'Do not disturb'),
    h('div', { class: 'radios' },
      radio('off', 'Off'),
      timed ? radio('current', `Until ${clockTime(dnd.until!, now0)}`) : null,
      radio('1h', 'For 1 hour'),
      radio('tomorrow', 'Until tomorrow, 08:00'),
      radio('forever', 'Until I turn it off'),
    ),
    h('div', { class: 'radio' }, allowUrgent, h('label', { for: 'dnd-urgent' }, 'Let urgent events through')),
    dndState,
    dndError,
  );
  fields.set('doNotDisturb', { wrap: dndFieldset, input: dndFieldset, error: dndError });
  const muted = textField('mutedTopics', 'Muted topics', s.mutedTopics.join(', '), 'Events on these topics stay in the history but never notify.');

  function renderDndState(now: number): void {
    const d = dndValue(now);
    setText(dndState, !d.enabled ? 'Notifications are on.' : d.until === null ? 'Quiet until you turn it off.' : `Quiet until ${clockTime(d.until, now)}.`);
  }

  function dndValue(now: number): Settings['doNotDisturb'] {
    const urgent = allowUrgent.checked;
    switch (choice) {
      case 'off':
        return { enabled: false, until: null, allowUrgent: urgent };
      case 'current':
        return { enabled: true, until: dnd.until, allowUrgent: urgent };
      case '1h':
        return { enabled: true, until: now + 3_600_000, allowUrgent: urgent };
      case 'tomorrow':
        return { enabled: true, until: tomorrowMorning(now), allowUrgent: urgent };
      case 'forever':
        return { enabled: true, until: null, allowUrgent: urgent };
    }
  }

  // --- web notifications permission (asked only when the user presses the button) ---
  let browserNotes: HTMLElement | null = null;
  if (!desktop) {
    const state = h('p', { class: 'hint', id: 'notes-state', 'data-testid': 'notification-permission' });
    const ask = h('button', { type: 'button', class: 'small', 'aria-describedby': 'notes-state' }, 'Allow notifications');
    const renderPermission = () => {
      const p = typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
      setText(
        state,
        p === 'granted'
          ? 'This browser shows a notification when an event arrives while the tab is in the background.'
          : p === 'denied'
            ? "Notifications are blocked for this site: allow them in the browser's site settings."
            : p === 'unsupported'
              ? 'This browser cannot show notifications.'
              : 'Allow this browser to show a notification when an event arrives while the tab is in the background.',
      );
      ask.hidden = p !== 'default';
    };
    ask.addEventListener('click', () => {
      void Notification.requestPermission().then(renderPermission, renderPermission);
    });
    renderPermission();
    browserNotes = h('div', { class: 'field' }, h('p', { class: 'label' }, 'Browser notifications'), state, ask);
  }

  // --- desktop app ---
  let localServerState: HTMLElement | null = null;
  let appFieldset: HTMLElement | null = null;
  if (desktop) {
    const launch = checkbox('launchAtLogin', 'Start Herald when I log in', s.launchAtLogin, 'Herald waits in the tray.');
    void launch;
    const runLocal = checkbox('runLocalServer', 'Run the companion server in the app', s.runLocalServer, `Publish to ${DEFAULT_SERVER_URL} without starting a server yourself.`);
    localServerState = h('p', { class: 'hint local-server-state', 'data-testid': 'settings-local-server' });
    fields.get('runLocalServer')!.wrap.append(localServerState);
    runLocal.addEventListener('change', () => {
      // Applied at once (not on Save): starting or stopping the server is an action, not a preference.
      runLocal.disabled = true;
      ctx.bridge.setLocalServer(runLocal.checked).then(
        () => showErrors({}, ['runLocalServer']),
        (err: unknown) => {
          runLocal.checked = !runLocal.checked;
          showErrors({ runLocalServer: describeError(err) }, ['runLocalServer']);
        },
      ).finally(() => (runLocal.disabled = false));
    });
    appFieldset = h('fieldset', { class: 'group' }, h('legend', null, 'Desktop app'), fields.get('launchAtLogin')!.wrap, fields.get('runLocalServer')!.wrap);
  }

  const formError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'form-error' });
  const saved = h('p', { class: 'saved', role: 'status', 'data-testid': 'saved' });
  const form = h(
    'form',
    { novalidate: true, 'aria-labelledby': 'settings-heading' },
    formError,
    h('fieldset', { class: 'group' }, h('legend', null, 'Server'), serverUrl, token, caFile, topics),
    h('fieldset', { class: 'group' }, h('legend', null, 'Notifications'), browserNotes, dndFieldset, muted),
    appFieldset,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('button', { type: 'button', on: { click: () => ctx.onClose() } }, 'Back to history'),
      saved,
    ),
  );

  function value(name: FieldName): string {
    const f = fields.get(name);
    return f && f.input instanceof HTMLInputElement ? f.input.value : '';
  }

  function buildPatch(now: number, only?: FieldName): SettingsPatch {
    const patch: SettingsPatch = {};
    const want = (n: FieldName) => only === undefined || only === n;
    if (desktop && want('serverUrl')) patch.serverUrl = value('serverUrl').trim();
    if (want('token')) patch.token = value('token').trim();
    if (desktop && want('caFile')) patch.caFile = value('caFile').trim();
    if (want('topics')) patch.topics = parseTopicList(value('topics'));
    if (want('mutedTopics')) patch.mutedTopics = parseTopicList(value('mutedTopics'));
    if (want('doNotDisturb')) patch.doNotDisturb = dndValue(now);
    if (desktop && want('launchAtLogin')) patch.launchAtLogin = (fields.get('launchAtLogin')!.input as HTMLInputElement).checked;
    return patch;
  }

  /** Shows `errors`; fields listed in `scope` (default: all) without an error are cleared. */
  function showErrors(errors: SettingsErrors, scope?: FieldName[]): FieldName[] {
    const bad: FieldName[] = [];
    const byField = new Map<FieldName, string>();
    const other: string[] = [];
    for (const [key, message] of Object.entries(errors)) {
      const name = key.split('.')[0] as FieldName;
      if (fields.has(name)) {
        if (!byField.has(name)) byField.set(name, message!);
      } else other.push(`${key}: ${message}`);
    }
    for (const [name, f] of fields) {
      if (scope && !scope.includes(name)) continue;
      const message = byField.get(name);
      setText(f.error, message ?? '');
      if (message) {
        f.input.setAttribute('aria-invalid', 'true');
        f.wrap.classList.add('invalid');
        bad.push(name);
      } else {
        f.input.removeAttribute('aria-invalid');
        f.wrap.classList.remove('invalid');
      }
    }
    if (!scope) setText(formError, other.join(' '));
    return bad;
  }

  function checkOne(name: FieldName): void {
    showErrors(validateSettingsPatch(buildPatch(ctx.now(), name), ctx.now()), [name]);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const now = ctx.now();
    const patch = buildPatch(now);
    setText(saved, '');
    const bad = showErrors(validateSettingsPatch(patch, now));
    if (bad.length > 0) {
      setText(formError, `Not saved: ${bad.length === 1 ? 'one field needs' : `${bad.length} fields need`} fixing.`);
      focusField(bad[0]!);
      return;
    }
    void ctx.bridge.saveSettings(patch).then((result) => {
      if (!result.ok) {
        const hostBad = showErrors(result.errors);
        if (!formError.textContent) setText(formError, 'Not saved: the app refused some fields.');
        if (hostBad[0]) focusField(hostBad[0]);
        return;
      }
      ctx.onSaved(result.settings);
      setText(saved, 'Saved.');
    });
  });

  function focusField(name: FieldName | string): void {
    const f = fields.get(name as FieldName);
    const target = f?.input instanceof HTMLFieldSetElement ? f.input.querySelector('input') : f?.input;
    (target as HTMLElement | null | undefined)?.focus();
  }

  const heading = h('h2', { id: 'settings-heading', class: 'view-heading', tabindex: -1 }, 'Settings');
  const el = h('section', { class: 'settings', 'aria-labelledby': 'settings-heading' }, heading, form);

  function update(_settings: Settings, status: AppStatus): void {
    if (localServerState) {
      const d = describeLocalServer(status.localServer, ctx.now());
      setText(localServerState, d.text);
      localServerState.className = `hint local-server-state tone-${d.tone}`;
    }
  }
  update(s, ctx.status);
  renderDndState(now0);

  return {
    el,
    focus(field?: string) {
      if (field && fields.has(field as FieldName)) focusField(field);
      else heading.focus();
    },
    update,
    tick(now: number) {
      renderDndState(now);
    },
  };
}
