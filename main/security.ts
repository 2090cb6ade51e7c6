// The app's security settings in one place: what a window may load, ask for and open. Applied
// once at startup (main.ts); the history window adds its own webPreferences (windows.ts).

import { app, type Session } from 'electron';
import { isAllowedRequest, permissionAllowed } from './security-policy.ts';

export function secureSession(session: Session): void {
  // The window needs no camera, notifications API, location or anything else: deny all but
  // clipboard writes from the app's own page (security-policy.ts).
  session.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(permissionAllowed(permission, details.requestingUrl)),
  );
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin));
  // No remote content in app windows: cancel any request that is not one of the app's own files.
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequest(details.url) }));
  // The window's policy: its own files only, no inline script or style, no network (it talks to
  // the app over IPC, never to a server), no plugins, no framing. The page carries a <meta> policy
  // too. Written as one literal so electronegativity can evaluate it.
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ],
      },
    });
  });
}

/** Every web contents the app ever creates: no navigation away, no new windows, no webviews. */
export function guardWebContents(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}
