// The options of a native notification for one of the policy's decisions. Pure, so the escaping
// and the urgency mapping are tested under Node; notifications.ts only constructs the Notification.

import type { NotificationConstructorOptions } from 'electron';
import type { NotificationSpec } from './policy.ts';

/**
 * Linux notification servers may read the body as markup (a subset of HTML): an event body with
 * `<b>` or `&` would be rendered or garbled. Escaped, it shows as sent.
 */
export function escapeLinuxMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function notificationOptions(spec: NotificationSpec, platform: NodeJS.Platform, icon?: string): NotificationConstructorOptions {
  const linux = platform === 'linux';
  return {
    title: spec.title,
    body: linux ? escapeLinuxMarkup(spec.body) : spec.body,
    silent: spec.silent,
    urgency: spec.urgency,
    // A critical notification (an urgent event, a failed job at priority 5) stays until dismissed.
    timeoutType: spec.urgency === 'critical' ? 'never' : 'default',
    ...(icon ? { icon } : {}),
  };
}

/**
 * What to do with a notification when an earlier one with the same tag is still shown:
 * - `update`: a job's progress after its progress: change the shown one's text in place, with no
 *   close and no new popup (a build reporting every few seconds must not flash a notification
 *   each time, nor pile them up in the notification centre);
 * - `replace`: anything else (started → progress, progress → completed): close it, show the new one;
 * - `show`: nothing to replace.
 */
export function replacement(previous: { silent: boolean } | undefined, next: NotificationSpec): 'update' | 'replace' | 'show' {
  if (!previous) return 'show';
  return previous.silent && next.silent ? 'update' : 'replace';
}
