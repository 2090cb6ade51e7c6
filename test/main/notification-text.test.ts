// The native notification's options: Linux markup escaped, urgency passed on.

import { describe, expect, it } from 'vitest';
import { escapeLinuxMarkup, notificationOptions } from '../../main/notification-text.ts';
import type { NotificationSpec } from '../../main/policy.ts';

const spec: NotificationSpec = {
  tag: 'event:1',
  title: 'Deploy <prod> & co',
  body: '<b>bold</b> & <a href="x">link</a>',
  urgency: 'critical',
  eventIds: ['1'],
  silent: false,
};

describe('notificationOptions', () => {
  it('escapes the body for Linux notification servers that read markup', () => {
    const o = notificationOptions(spec, 'linux');
    expect(o.body).toBe('&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href="x"&gt;link&lt;/a&gt;');
    expect(o.title).toBe('Deploy <prod> & co'); // the summary line is plain text
    expect(o).toMatchObject({ urgency: 'critical', timeoutType: 'never', silent: false });
  });

  it('leaves the text as sent elsewhere', () => {
    expect(notificationOptions(spec, 'darwin').body).toBe(spec.body);
    expect(notificationOptions(spec, 'win32').body).toBe(spec.body);
  });

  it('keeps ordinary notifications on the normal timeout and silent ones silent', () => {
    const o = notificationOptions({ ...spec, urgency: 'low', silent: true }, 'linux', '/icons/herald.png');
    expect(o).toMatchObject({ urgency: 'low', timeoutType: 'default', silent: true, icon: '/icons/herald.png' });
  });

  it('escapes & first so nothing is escaped twice', () => {
    expect(escapeLinuxMarkup('&lt; <')).toBe('&amp;lt; &lt;');
  });
});
