// Settings defaults and validation, shared by the window (messages next to each field) and the
// hosts (which re-check every patch: a renderer message is never trusted). Pure.

import { TOPIC_PATTERN, isWebUrl } from '../events/event.ts';
import {
  TOKEN_KEPT,
  type DoNotDisturb,
  type SaveSettingsResult,
  type Settings,
  type SettingsErrors,
  type SettingsPatch,
} from './contract.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';

/** When "until tomorrow" ends (a pause, do-not-disturb): 08:00 local time on the next calendar day. */
export function tomorrowMorning(now: number): number {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(8, 0, 0, 0);
  return d.getTime();
}

export function defaultSettings(): Settings {
  return {
    serverUrl: DEFAULT_SERVER_URL,
    token: '',
    topics: [],
    caFile: '',
    doNotDisturb: { enabled: false, until: null, allowUrgent: true },
    mutedTopics: [],
    launchAtLogin: false,
    runLocalServer: true,
  };
}

const SETTINGS_KEYS = new Set<keyof Settings>([
  'serverUrl',
  'token',
  'topics',
  'caFile',
  'doNotDisturb',
  'mutedTopics',
  'launchAtLogin',
  'runLocalServer',
]);
const TOKEN_PATTERN = /^[\x21-\x7e]{1,512}$/;
const MAX_TOPICS = 64;

function topicList(value: unknown, label: string): string | undefined {
  if (!Array.isArray(value)) return `${label} must be a list of topics`;
  if (value.length > MAX_TOPICS) return `at most ${MAX_TOPICS} topics`;
  for (const topic of value) {
    if (typeof topic !== 'string' || !TOPIC_PATTERN.test(topic)) {
      return `"${String(topic)}" is not a topic: use 1 to 64 of A-Z, a-z, 0-9, "_" or "-"`;
    }
  }
  return undefined;
}

/**
 * Checks a patch field by field. Returns the errors (empty when the patch is valid); unknown
 * fields are errors too, so a hostile renderer cannot smuggle keys into the store.
 */
export function validateSettingsPatch(patch: unknown, now = Date.now()): SettingsErrors {
  const errors: SettingsErrors = {};
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    return { serverUrl: 'settings must be an object' };
  }
  const p = patch as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (!SETTINGS_KEYS.has(key as keyof Settings)) (errors as Record<string, string>)[key] = 'is not a setting';
  }
  if ('serverUrl' in p) {
    const v = p.serverUrl;
    if (typeof v !== 'string' || v.trim() === '') errors.serverUrl = `Enter the server address, e.g. ${DEFAULT_SERVER_URL}`;
    else if (v.length > 2048 || !isWebUrl(v)) errors.serverUrl = 'Must be an http:// or https:// address';
    else if (new URL(v).username || new URL(v).password) errors.serverUrl = 'Put the token in the token field, not in the address';
  }
  if ('token' in p) {
    const v = p.token;
    if (typeof v !== 'string') errors.token = 'must be text';
    else if (v !== '' && v !== TOKEN_KEPT && !TOKEN_PATTERN.test(v))
      errors.token = 'A token has no spaces or control characters (at most 512 characters)';
  }
  if ('topics' in p) {
    const e = topicList(p.topics, 'topics');
    if (e) errors.topics = e;
  }
  if ('mutedTopics' in p) {
    const e = topicList(p.mutedTopics, 'mutedTopics');
    if (e) errors.mutedTopics = e;
  }
  if ('caFile' in p) {
    const v = p.caFile;
    if (typeof v !== 'string') errors.caFile = 'must be a file path';
    else if (v.length > 4096 || /[\u0000-\u001f]/.test(v)) errors.caFile = 'is not a usable file path';
  }
  for (const key of ['launchAtLogin', 'runLocalServer'] as const) {
    if (key in p && typeof p[key] !== 'boolean') errors[key] = 'must be on or off';
  }
  if ('doNotDisturb' in p) {
    const d = p.doNotDisturb as Partial<DoNotDisturb> | null;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) errors.doNotDisturb = 'must be an object';
    else {
      for (const key of Object.keys(d)) {
        if (!['enabled', 'until', 'allowUrgent'].includes(key)) errors.doNotDisturb = `"${key}" is not a do-not-disturb setting`;
      }
      if (typeof d.enabled !== 'boolean') errors['doNotDisturb.enabled'] = 'must be on or off';
      if (typeof d.allowUrgent !== 'boolean') errors['doNotDisturb.allowUrgent'] = 'must be on or off';
      if (d.until !== null && (typeof d.until !== 'number' || !Number.isFinite(d.until)))
        errors['doNotDisturb.until'] = 'must be a time or "until turned off"';
      else if (d.enabled && typeof d.until === 'number' && d.until <= now) errors['doNotDisturb.until'] = 'must be in the future';
    }
  }
  return errors;
}

/** Applies a patch after validating it; the stored settings are never partly updated. */
export function applySettingsPatch(current: Settings, patch: unknown, now = Date.now()): SaveSettingsResult {
  const errors = validateSettingsPatch(patch, now);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const p = patch as SettingsPatch;
  const next: Settings = { ...current, ...p };
  // The desktop app shows a stored token as TOKEN_KEPT: sent back unchanged, it stays as it is.
  if (p.token === TOKEN_KEPT) next.token = current.token;
  if (p.serverUrl !== undefined) next.serverUrl = p.serverUrl.trim().replace(/\/+$/, '');
  if (p.topics) next.topics = [...new Set(p.topics)];
  if (p.mutedTopics) next.mutedTopics = [...new Set(p.mutedTopics)];
  if (p.doNotDisturb) next.doNotDisturb = { ...p.doNotDisturb };
  return { ok: true, settings: next };
}

/** The longest pause the window or the tray may ask for (a year): anything further is a bug or an attack. */
export const MAX_PAUSE_MS = 366 * 24 * 3600 * 1000;

/** Why a pause until `until` (epoch ms) is refused at `now`, or undefined when it is fine. */
export function pauseUntilError(until: number, now: number): string | undefined {
  if (!Number.isFinite(until)) return 'the time must be a number (epoch ms)';
  if (until <= now || until > now + MAX_PAUSE_MS) return 'the time must be in the future, within a year';
  return undefined;
}
