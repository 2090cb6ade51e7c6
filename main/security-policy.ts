// What the app's windows may load and ask for. Pure: security.ts applies it to the session.

/** Only the app's own files (and in-page data) load in its windows; devtools while developing. */
export function isAllowedRequest(url: string): boolean {
  return /^(file|devtools|data|blob):/i.test(url);
}

/**
 * Permissions the window may have. Everything is denied except writing to the clipboard (the
 * window's "copy" buttons), and that only for the app's own page.
 */
export function permissionAllowed(permission: string, requestingUrl: string | undefined): boolean {
  return permission === 'clipboard-sanitized-write' && typeof requestingUrl === 'string' && requestingUrl.startsWith('file:');
}
