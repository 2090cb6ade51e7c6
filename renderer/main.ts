// Entry point: the desktop app's preload provides `window.herald`; in a browser tab (the server's
// web app) there is none, and the page brings its own bridge to the server it came from.

import { BRIDGE_GLOBAL } from '../bridge/contract.ts';
import type { HeraldBridge } from '../bridge/contract.ts';
import { mountWindow } from './herald-window.ts';
import { WebBridge } from './web-bridge.ts';
import { describeError } from '../events/errors.ts';

function pickBridge(): HeraldBridge {
  const provided = (window as unknown as Record<string, HeraldBridge | undefined>)[BRIDGE_GLOBAL];
  if (provided) return provided;
  const web = new WebBridge();
  web.start();
  return web;
}

const root = document.getElementById('app')!;
mountWindow(root, pickBridge()).catch((err: unknown) => {
  root.textContent = `Herald could not start: ${describeError(err)}. Reload the page to try again.`;
});
