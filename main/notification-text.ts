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
