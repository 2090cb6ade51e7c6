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
  if (storage === 'weak')
    return ' This system has no keyring (GNOME Keyring or KWallet): the token is only obfuscated on disk, not encrypted.';
  if (storage === 'plain') return ' No system keychain is available: the token is stored on disk as plain text.';
  return '';
}

/** The settings view for the window: the form, built in named steps (SettingsForm). */
export function renderSettings(ctx: SettingsContext): SettingsView {
  const form = new SettingsForm(ctx);
  return {
    el: form.el,
    focus: (field) => form.focus(field),
    update: (settings, status) => form.update(settings, status),
    tick: (now) => form.renderDndState(now),
  };
}

class SettingsForm {
  readonly el: HTMLElement;
  readonly #ctx: SettingsContext;
  readonly #desktop: boolean;
  /** Every field by name, in the order of the form (the first invalid one gets the focus). */
  readonly #fields = new Map<FieldName, Field>();
  readonly #heading: HTMLElement;
  readonly #formError: HTMLElement;
  readonly #saved: HTMLElement;
  /** The do-not-disturb radio chosen, and the parts of that fieldset read back. */
  #dndChoice: DndChoice;
  #allowUrgent!: HTMLInputElement;
  #dndState!: HTMLElement;
  #localServerState: HTMLElement | null = null;

  constructor(ctx: SettingsContext) {
    this.#ctx = ctx;
    this.#desktop = ctx.bridge.host === 'desktop';
    const now = ctx.now();
    const dnd = ctx.settings.doNotDisturb;
    this.#dndChoice = !dnd.enabled || (dnd.until !== null && dnd.until <= now) ? 'off' : dnd.until === null ? 'forever' : 'current';
    this.#formError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'form-error' });
    this.#saved = h('p', { class: 'saved', role: 'status', 'data-testid': 'saved' });
    const form = h(
      'form',
      { novalidate: true, 'aria-labelledby': 'settings-heading' },
      this.#formError,
      h('fieldset', { class: 'group' }, h('legend', null, 'Server'), ...this.#serverFields()),
      h('fieldset', { class: 'group' }, h('legend', null, 'Notifications'), this.#browserNotifications(), ...this.#notificationFields(now)),
      this.#desktopAppFields(),
      h(
        'div',
        { class: 'form-actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Save'),
        h('button', { type: 'button', on: { click: () => ctx.onClose() } }, 'Back to history'),
        this.#saved,
      ),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#submit();
    });
    this.#heading = h('h2', { id: 'settings-heading', class: 'view-heading', tabindex: -1 }, 'Settings');
    this.el = h('section', { class: 'settings', 'aria-labelledby': 'settings-heading' }, this.#heading, form);
    this.update(ctx.settings, ctx.status);
    this.renderDndState(now);
  }

  focus(field?: string): void {
    if (field && this.#fields.has(field as FieldName)) this.#focusField(field);
    else this.#heading.focus();
  }

  update(_settings: Settings, status: AppStatus): void {
    if (!this.#localServerState) return;
    const d = describeLocalServer(status.localServer, this.#ctx.now());
    setText(this.#localServerState, d.text);
    this.#localServerState.className = `hint local-server-state tone-${d.tone}`;
  }

  renderDndState(now: number): void {
    const d = this.#dndValue(now);
    setText(
      this.#dndState,
      !d.enabled ? 'Notifications are on.' : d.until === null ? 'Quiet until you turn it off.' : `Quiet until ${clockTime(d.until, now)}.`,
    );
  }

  // --- the form's parts -----------------------------------------------------------------------

  #serverFields(): Array<HTMLElement | null> {
    const s = this.#ctx.settings;
    const desktop = this.#desktop;
    return [
      this.#textField(
        'serverUrl',
        'Server address',
        desktop ? s.serverUrl : location.origin,
        desktop
          ? `The companion server, e.g. ${DEFAULT_SERVER_URL} or a team server.`
          : 'This page always uses the server it was loaded from.',
        desktop ? { type: 'url', inputmode: 'url' } : { readonly: true },
      ),
      this.#textField(
        'token',
        'Token',
        s.token,
        `Only for a server started with --token. Leave empty otherwise.${tokenStorageNote(this.#ctx.status.tokenStorage)}`,
        { type: 'password', autocomplete: 'off' },
      ),
      desktop
        ? this.#textField(
            'caFile',
            'CA certificate file',
            s.caFile,
            "A PEM file with the CA that signed a private server's certificate. Empty: the system's CAs only.",
          )
        : null,
      this.#textField('topics', 'Topics', s.topics.join(', '), 'Separate with commas or spaces. Empty: every topic.'),
    ];
  }

  /** Do not disturb (off, the current timed one, an hour, tomorrow, until turned off) and the muted topics. */
  #notificationFields(now: number): HTMLElement[] {
    const dnd = this.#ctx.settings.doNotDisturb;
    const timed = dnd.enabled && dnd.until !== null && dnd.until > now;
    const radio = (value: DndChoice, label: string) => {
      const input = h('input', { type: 'radio', name: 'dnd', id: `dnd-${value}`, value });
      input.checked = value === this.#dndChoice;
      input.addEventListener('change', () => {
        this.#dndChoice = value;
        this.#checkOne('doNotDisturb');
        this.renderDndState(this.#ctx.now());
      });
      return h('div', { class: 'radio' }, input, h('label', { for: `dnd-${value}` }, label));
    };
    this.#allowUrgent = h('input', { type: 'checkbox', id: 'dnd-urgent', name: 'allowUrgent' });
    this.#allowUrgent.checked = dnd.allowUrgent;
    this.#dndState = h('p', { class: 'hint', id: 'set-doNotDisturb-hint', 'data-testid': 'dnd-state' });
    const dndError = errorLine('doNotDisturb');
    const dndFieldset = h(
      'fieldset',
      { class: 'field dnd', 'aria-describedby': 'set-doNotDisturb-hint set-doNotDisturb-error' },
      h('legend', null, 'Do not disturb'),
      h(
        'div',
        { class: 'radios' },
        radio('off', 'Off'),
        timed ? radio('current', `Until ${clockTime(dnd.until!, now)}`) : null,
        radio('1h', 'For 1 hour'),
        radio('tomorrow', 'Until tomorrow, 08:00'),
        radio('forever', 'Until I turn it off'),
      ),
      h('div', { class: 'radio' }, this.#allowUrgent, h('label', { for: 'dnd-urgent' }, 'Let urgent events through')),
      this.#dndState,
      dndError,
    );
    this.#fields.set('doNotDisturb', { wrap: dndFieldset, input: dndFieldset, error: dndError });
    const muted = this.#textField(
      'mutedTopics',
      'Muted topics',
      this.#ctx.settings.mutedTopics.join(', '),
      'Events on these topics stay in the history but never notify.',
    );
    return [dndFieldset, muted];
  }

  #dndValue(now: number): Settings['doNotDisturb'] {
    const urgent = this.#allowUrgent.checked;
    switch (this.#dndChoice) {
      case 'off':
        return { enabled: false, until: null, allowUrgent: urgent };
      case 'current':
        return { enabled: true, until: this.#ctx.settings.doNotDisturb.until, allowUrgent: urgent };
      case '1h':
        return { enabled: true, until: now + 3_600_000, allowUrgent: urgent };
      case 'tomorrow':
        return { enabled: true, until: tomorrowMorning(now), allowUrgent: urgent };
      case 'forever':
        return { enabled: true, until: null, allowUrgent: urgent };
    }
  }

  /** The web app's permission for Web Notifications, asked only when the user presses the button. */
  #browserNotifications(): HTMLElement | null {
    if (this.#desktop) return null;
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
    return h('div', { class: 'field' }, h('p', { class: 'label' }, 'Browser notifications'), state, ask);
  }

  /** The desktop app's own settings: start at login, and the local server (applied at once). */
  #desktopAppFields(): HTMLElement | null {
    if (!this.#desktop) return null;
    const s = this.#ctx.settings;
    this.#checkbox('launchAtLogin', 'Start Herald when I log in', s.launchAtLogin, 'Herald waits in the tray.');
    const runLocal = this.#checkbox(
      'runLocalServer',
      'Run the companion server in the app',
      s.runLocalServer,
      `Publish to ${DEFAULT_SERVER_URL} without starting a server yourself.`,
    );
    this.#localServerState = h('p', { class: 'hint local-server-state', 'data-testid': 'settings-local-server' });
    this.#fields.get('runLocalServer')!.wrap.append(this.#localServerState);
    runLocal.addEventListener('change', () => {
      // Applied at once (not on Save): starting or stopping the server is an action, not a preference.
      runLocal.disabled = true;
      this.#ctx.bridge
        .setLocalServer(runLocal.checked)
        .then(
          () => this.#showErrors({}, ['runLocalServer']),
          (err: unknown) => {
            runLocal.checked = !runLocal.checked;
            this.#showErrors({ runLocalServer: describeError(err) }, ['runLocalServer']);
          },
        )
        .finally(() => (runLocal.disabled = false));
    });
    return h(
      'fieldset',
      { class: 'group' },
      h('legend', null, 'Desktop app'),
      this.#fields.get('launchAtLogin')!.wrap,
      this.#fields.get('runLocalServer')!.wrap,
    );
  }

  #textField(name: FieldName, label: string, value: string, hint: string, attrs: Record<string, string | boolean> = {}): HTMLElement {
    const error = errorLine(name);
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
      if (input.getAttribute('aria-invalid') === 'true') this.#checkOne(name);
    });
    const wrap = h(
      'div',
      { class: 'field' },
      h('label', { for: `set-${name}` }, label),
      input,
      h('p', { class: 'hint', id: `set-${name}-hint` }, hint),
      error,
    );
    this.#fields.set(name, { wrap, input, error });
    return wrap;
  }

  #checkbox(name: FieldName, label: string, checked: boolean, hint: string): HTMLInputElement {
    const error = errorLine(name);
    const input = h('input', { id: `set-${name}`, name, type: 'checkbox', 'aria-describedby': `set-${name}-hint set-${name}-error` });
    input.checked = checked;
    const wrap = h(
      'div',
      { class: 'field check' },
      input,
      h('label', { for: `set-${name}` }, label),
      h('p', { class: 'hint', id: `set-${name}-hint` }, hint),
      error,
    );
    this.#fields.set(name, { wrap, input, error });
    return input;
  }

  // --- checking and saving --------------------------------------------------------------------

  #value(name: FieldName): string {
    const f = this.#fields.get(name);
    return f && f.input instanceof HTMLInputElement ? f.input.value : '';
  }

  #buildPatch(now: number, only?: FieldName): SettingsPatch {
    const desktop = this.#desktop;
    const patch: SettingsPatch = {};
    const want = (n: FieldName) => only === undefined || only === n;
    if (desktop && want('serverUrl')) patch.serverUrl = this.#value('serverUrl').trim();
    if (want('token')) patch.token = this.#value('token').trim();
    if (desktop && want('caFile')) patch.caFile = this.#value('caFile').trim();
    if (want('topics')) patch.topics = parseTopicList(this.#value('topics'));
    if (want('mutedTopics')) patch.mutedTopics = parseTopicList(this.#value('mutedTopics'));
    if (want('doNotDisturb')) patch.doNotDisturb = this.#dndValue(now);
    if (desktop && want('launchAtLogin')) patch.launchAtLogin = (this.#fields.get('launchAtLogin')!.input as HTMLInputElement).checked;
    return patch;
  }

  /** Shows `errors`; fields listed in `scope` (default: all) without an error are cleared. */
  #showErrors(errors: SettingsErrors, scope?: FieldName[]): FieldName[] {
    const bad: FieldName[] = [];
    const byField = new Map<FieldName, string>();
    const other: string[] = [];
    for (const [key, message] of Object.entries(errors)) {
      const name = key.split('.')[0] as FieldName;
      if (this.#fields.has(name)) {
        if (!byField.has(name)) byField.set(name, message!);
      } else other.push(`${key}: ${message}`);
    }
    for (const [name, f] of this.#fields) {
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
    if (!scope) setText(this.#formError, other.join(' '));
    return bad;
  }

  #checkOne(name: FieldName): void {
    this.#showErrors(validateSettingsPatch(this.#buildPatch(this.#ctx.now(), name), this.#ctx.now()), [name]);
  }

  /** Checked here with the host's own rules, then saved; the host checks again and may refuse fields. */
  #submit(): void {
    const now = this.#ctx.now();
    const patch = this.#buildPatch(now);
    setText(this.#saved, '');
    const bad = this.#showErrors(validateSettingsPatch(patch, now));
    if (bad.length > 0) {
      setText(this.#formError, `Not saved: ${bad.length === 1 ? 'one field needs' : `${bad.length} fields need`} fixing.`);
      this.#focusField(bad[0]!);
      return;
    }
    void this.#ctx.bridge.saveSettings(patch).then((result) => {
      if (!result.ok) {
        const hostBad = this.#showErrors(result.errors);
        if (!this.#formError.textContent) setText(this.#formError, 'Not saved: the app refused some fields.');
        if (hostBad[0]) this.#focusField(hostBad[0]);
        return;
      }
      this.#ctx.onSaved(result.settings);
      setText(this.#saved, 'Saved.');
    });
  }

  #focusField(name: FieldName | string): void {
    const f = this.#fields.get(name as FieldName);
    const target = f?.input instanceof HTMLFieldSetElement ? f.input.querySelector('input') : f?.input;
    (target as HTMLElement | null | undefined)?.focus();
  }
}

function errorLine(name: string): HTMLElement {
  return h('p', { class: 'field-error', id: `set-${name}-error`, 'data-testid': `error-${name}` });
}
