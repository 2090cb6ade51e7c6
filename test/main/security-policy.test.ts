// What the window may load and ask for.

import { describe, expect, it } from 'vitest';
import { isAllowedRequest, permissionAllowed } from '../../main/security-policy.ts';

describe('isAllowedRequest', () => {
  it.each([
    'file:///opt/Herald/resources/app.asar/dist/renderer/assets/index.js',
    'devtools://devtools/bundled/x.html',
    'data:image/png;base64,AA',
    'blob:file:///1234',
  ])('loads %s', (url) => {
    expect(isAllowedRequest(url)).toBe(true);
  });
  it.each(['https://cdn.example.test/x.js', 'http://127.0.0.1:5080/events', 'ws://127.0.0.1:1/', 'ftp://x/y', 'chrome://gpu'])(
    'cancels %s',
    (url) => {
      expect(isAllowedRequest(url)).toBe(false);
    },
  );
});

describe('permissionAllowed', () => {
  it('lets only the app page write to the clipboard, and denies everything else', () => {
    expect(permissionAllowed('clipboard-sanitized-write', 'file:///opt/Herald/dist/renderer/index.html')).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', 'https://evil.example.test/')).toBe(false);
    expect(permissionAllowed('clipboard-sanitized-write', undefined)).toBe(false);
    for (const p of ['clipboard-read', 'notifications', 'media', 'geolocation', 'openExternal', 'fullscreen']) {
      expect(permissionAllowed(p, 'file:///opt/Herald/dist/renderer/index.html')).toBe(false);
    }
  });
});
